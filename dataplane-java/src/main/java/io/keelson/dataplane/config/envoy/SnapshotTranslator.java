package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.dataplane.config.AdminConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.TcpProxyConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates a parsed Envoy Bootstrap's static_resources into Keelson's config model, reporting
 * every value Keelson cannot run and every dangling reference. Used by one thread.
 */
final class SnapshotTranslator {
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** Envoy's default downstream idle timeout for HTTP connections. */
  static final Duration DEFAULT_HTTP_IDLE_TIMEOUT = Duration.ofHours(1);

  private final Problems problems;
  private final RouteTranslator routes;
  /** Clusters named by tcp_proxy filters, with where they are named. */
  private final List<RouteTranslator.ClusterReference> tcpReferences = new ArrayList<>();

  SnapshotTranslator(Problems problems) {
    this.problems = problems;
    this.routes = new RouteTranslator(problems);
  }

  List<ListenerConfig> listeners(Bootstrap.StaticResources resources) {
    List<ListenerConfig> listeners = new ArrayList<>();
    Map<String, Integer> names = new LinkedHashMap<>();
    for (int i = 0; i < resources.getListenersCount(); i++) {
      Listener l = resources.getListeners(i);
      String path = "static_resources.listeners[" + i + "]";
      String name = l.getName().isEmpty() ? "listener_" + i : l.getName();
      Integer previous = names.putIfAbsent(name, i);
      if (previous != null) {
        problems.error(path + ".name", "listener name '" + name + "' is already used by static_resources.listeners["
            + previous + "]; expected unique names");
      }
      ListenerConfig listener = listener(l, name, path);
      if (listener != null) {
        listeners.add(listener);
      }
    }
    return listeners;
  }

  private ListenerConfig listener(Listener l, String name, String path) {
    SocketAddress address = socketAddress(l.hasAddress(), l.getAddress(), path + ".address");
    if (l.getFilterChainsCount() != 1) {
      problems.error(path + ".filter_chains", "listener '" + name + "' has " + l.getFilterChainsCount()
          + " filter chains; expected exactly one");
      return null;
    }
    FilterChain chain = l.getFilterChains(0);
    String chainPath = path + ".filter_chains[0]";
    if (chain.getFiltersCount() != 1) {
      problems.error(chainPath + ".filters", "listener '" + name + "' has " + chain.getFiltersCount()
          + " network filters; expected exactly one: envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy");
      return null;
    }
    Filter filter = chain.getFilters(0);
    String filterPath = chainPath + ".filters[0]";
    if (!filter.hasTypedConfig()) {
      if (problems.reportedAt(filterPath + ".typed_config")) {
        return null;
      }
      problems.error(filterPath + ".typed_config", "filter '" + filter.getName()
          + "' has no typed_config; expected an HttpConnectionManager or a TcpProxy");
      return null;
    }
    Any typed = filter.getTypedConfig();
    String type = SupportedTypes.typeName(typed.getTypeUrl());
    HttpConnectionManagerConfig http = null;
    TcpProxyConfig tcp = null;
    try {
      if (type.equals(SupportedTypes.HCM)) {
        http = httpConnectionManager(typed.unpack(HttpConnectionManager.class), filterPath + ".typed_config");
      } else if (type.equals(SupportedTypes.TCP_PROXY)) {
        tcp = tcpProxy(typed.unpack(TcpProxy.class), filterPath + ".typed_config");
      } else {
        problems.error(filterPath + ".typed_config", "network filter type " + type
            + " is not supported; expected " + SupportedTypes.HCM + " or " + SupportedTypes.TCP_PROXY);
        return null;
      }
    } catch (InvalidProtocolBufferException e) {
      problems.error(filterPath + ".typed_config", "cannot read " + type + ": " + e.getMessage());
      return null;
    }
    if (address == null || (http == null && tcp == null)) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(), http, tcp);
  }

  private SocketAddress socketAddress(boolean present, Address address, String path) {
    if (!present || !address.hasSocketAddress()) {
      problems.error(path, "a socket_address is required");
      return null;
    }
    SocketAddress sa = address.getSocketAddress();
    String at = path + ".socket_address";
    boolean ok = true;
    if (sa.getAddress().isEmpty()) {
      problems.error(at + ".address", "an address is required");
      ok = false;
    }
    if (sa.getPortValue() > 65535) {
      problems.error(at + ".port_value", Integer.toUnsignedString(sa.getPortValue()) + " is out of range; expected 0-65535");
      ok = false;
    }
    if (sa.getProtocol() != SocketAddress.Protocol.TCP) {
      problems.error(at + ".protocol", sa.getProtocol() + " is not supported; expected TCP");
      ok = false;
    }
    return ok ? sa : null;
  }

  private HttpConnectionManagerConfig httpConnectionManager(HttpConnectionManager hcm, String path) {
    boolean ok = true;
    if (hcm.getStatPrefix().isEmpty()) {
      problems.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      ok = false;
    }
    switch (hcm.getCodecType()) {
      case AUTO, HTTP1 -> {}
      default -> {
        problems.error(path + ".codec_type", hcm.getCodecType() + " is not supported; expected AUTO or HTTP1");
        ok = false;
      }
    }
    ok &= httpFilters(hcm.getHttpFiltersList(), path + ".http_filters");
    if (!hcm.hasRouteConfig()) {
      problems.error(path + ".route_config", "an inline route_config is required; expected route_config (rds is not supported yet)");
      return null;
    }
    RouteConfig routeConfig = routes.translate(hcm.getRouteConfig(), path + ".route_config");
    int maxHeaderBytes = HttpLimits.DEFAULT.maxHeaderBytes();
    if (hcm.hasMaxRequestHeadersKb()) {
      int kb = hcm.getMaxRequestHeadersKb().getValue();
      if (kb < 1 || kb > 8192) {
        problems.error(path + ".max_request_headers_kb", kb + " is out of range; expected 1-8192");
        ok = false;
      }
      maxHeaderBytes = kb * 1024;
    }
    int maxHeaderCount = HttpLimits.DEFAULT.maxHeaderCount();
    Duration idle = DEFAULT_HTTP_IDLE_TIMEOUT;
    if (hcm.hasCommonHttpProtocolOptions()) {
      var common = hcm.getCommonHttpProtocolOptions();
      if (common.hasMaxHeadersCount()) {
        maxHeaderCount = common.getMaxHeadersCount().getValue();
        if (maxHeaderCount < 1) {
          problems.error(path + ".common_http_protocol_options.max_headers_count", "0 is out of range; expected at least 1");
          ok = false;
        }
      }
      if (common.hasIdleTimeout()) {
        idle = RouteTranslator.duration(common.getIdleTimeout());
      }
    }
    if (!ok) {
      return null;
    }
    return new HttpConnectionManagerConfig(
        hcm.getStatPrefix(),
        routeConfig,
        new HttpLimits(HttpLimits.DEFAULT.maxRequestLineBytes(), maxHeaderBytes, maxHeaderCount),
        hcm.hasUseRemoteAddress() && hcm.getUseRemoteAddress().getValue(),
        !hcm.hasGenerateRequestId() || hcm.getGenerateRequestId().getValue(),
        hcm.hasRequestTimeout() ? RouteTranslator.duration(hcm.getRequestTimeout()) : Duration.ZERO,
        idle);
  }

  /** Keelson runs only the router; anything else in the chain would change behaviour if skipped. */
  private boolean httpFilters(List<HttpFilter> filters, String path) {
    boolean ok = true;
    for (int i = 0; i < filters.size(); i++) {
      HttpFilter f = filters.get(i);
      String at = path + "[" + i + "]";
      String type = f.hasTypedConfig() ? SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()) : null;
      boolean router = SupportedTypes.ROUTER.equals(type)
          || (type == null && f.getName().equals("envoy.filters.http.router"));
      if (!router) {
        if (!problems.reportedAt(at + ".typed_config")) {
          problems.error(at, "http filter '" + f.getName() + "'" + (type == null ? "" : " (" + type + ")")
              + " is not supported; expected only envoy.filters.http.router (" + SupportedTypes.ROUTER + ")");
        }
        ok = false;
      } else if (i != filters.size() - 1) {
        problems.error(at, "the router must be the last http filter");
        ok = false;
      }
    }
    return ok;
  }

  private TcpProxyConfig tcpProxy(TcpProxy proxy, String path) {
    if (proxy.getStatPrefix().isEmpty()) {
      problems.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      return null;
    }
    List<RouteAction.WeightedCluster> clusters = new ArrayList<>();
    long total = 0;
    switch (proxy.getClusterSpecifierCase()) {
      case CLUSTER -> {
        tcpReferences.add(new RouteTranslator.ClusterReference(proxy.getCluster(), path + ".cluster", proxy.getStatPrefix()));
        clusters.add(new RouteAction.WeightedCluster(proxy.getCluster(), 1, HeaderMutations.NONE, HeaderMutations.NONE));
        total = 1;
      }
      case WEIGHTED_CLUSTERS -> {
        var list = proxy.getWeightedClusters().getClustersList();
        for (int i = 0; i < list.size(); i++) {
          var cw = list.get(i);
          String at = path + ".weighted_clusters.clusters[" + i + "]";
          if (cw.getWeight() < 1) {
            problems.error(at + ".weight", "0 is out of range; expected at least 1");
            continue;
          }
          tcpReferences.add(new RouteTranslator.ClusterReference(cw.getName(), at + ".name", proxy.getStatPrefix()));
          clusters.add(new RouteAction.WeightedCluster(cw.getName(), cw.getWeight(), HeaderMutations.NONE, HeaderMutations.NONE));
          total += Integer.toUnsignedLong(cw.getWeight());
        }
        if (total == 0 || total > Integer.MAX_VALUE) {
          problems.error(path + ".weighted_clusters", "the total weight is " + total + "; expected 1-" + Integer.MAX_VALUE);
          return null;
        }
      }
      default -> {
        problems.error(path, "a cluster is required; expected cluster or weighted_clusters");
        return null;
      }
    }
    Duration idle = proxy.hasIdleTimeout() ? RouteTranslator.duration(proxy.getIdleTimeout()) : TcpProxyConfig.DEFAULT_IDLE_TIMEOUT;
    return new TcpProxyConfig(proxy.getStatPrefix(), clusters, (int) total, idle);
  }

  Map<String, ClusterConfig> clusters(Bootstrap.StaticResources resources, Map<String, String> pathsByName) {
    Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
    for (int i = 0; i < resources.getClustersCount(); i++) {
      Cluster c = resources.getClusters(i);
      String path = "static_resources.clusters[" + i + "]";
      if (c.getName().isEmpty()) {
        problems.error(path + ".name", "a cluster name is required");
        continue;
      }
      if (pathsByName.containsKey(c.getName())) {
        problems.error(path + ".name", "cluster name '" + c.getName() + "' is already used by "
            + pathsByName.get(c.getName()) + "; expected unique names");
        continue;
      }
      pathsByName.put(c.getName(), path);
      ClusterConfig cluster = cluster(c, path);
      if (cluster != null) {
        clusters.put(c.getName(), cluster);
      }
    }
    return clusters;
  }

  private ClusterConfig cluster(Cluster c, String path) {
    boolean ok = true;
    switch (c.getClusterDiscoveryTypeCase()) {
      case TYPE -> {
        switch (c.getType()) {
          case STATIC, STRICT_DNS, LOGICAL_DNS -> {}
          default -> {
            problems.error(path + ".type", c.getType() + " is not supported; expected one of STATIC, STRICT_DNS, LOGICAL_DNS");
            ok = false;
          }
        }
      }
      case CLUSTERDISCOVERYTYPE_NOT_SET -> {}
      default -> ok = false; // cluster_type: reported by SupportedFields
    }
    LbPolicy policy =
        switch (c.getLbPolicy()) {
          case ROUND_ROBIN -> LbPolicy.ROUND_ROBIN;
          case LEAST_REQUEST -> LbPolicy.LEAST_REQUEST;
          case RANDOM -> LbPolicy.RANDOM;
          case MAGLEV -> LbPolicy.MAGLEV;
          case RING_HASH -> LbPolicy.RING_HASH;
          default -> {
            problems.error(path + ".lb_policy", c.getLbPolicy()
                + " is not supported; expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, MAGLEV, RING_HASH");
            yield null;
          }
        };
    for (var e : c.getTypedExtensionProtocolOptionsMap().entrySet()) {
      String at = path + ".typed_extension_protocol_options[\"" + e.getKey() + "\"]";
      String type = SupportedTypes.typeName(e.getValue().getTypeUrl());
      if (!type.equals(SupportedTypes.UPSTREAM_HTTP_OPTIONS) || !e.getKey().equals(SupportedTypes.UPSTREAM_HTTP_OPTIONS)) {
        problems.error(at, "protocol options " + type + " are not supported; expected key and type "
            + SupportedTypes.UPSTREAM_HTTP_OPTIONS);
        ok = false;
      }
    }
    boolean isStatic = c.getType() == Cluster.DiscoveryType.STATIC;
    List<EndpointConfig> endpoints = new ArrayList<>();
    List<LocalityLbEndpoints> localities = c.getLoadAssignment().getEndpointsList();
    for (int i = 0; i < localities.size(); i++) {
      List<LbEndpoint> lbEndpoints = localities.get(i).getLbEndpointsList();
      for (int j = 0; j < lbEndpoints.size(); j++) {
        LbEndpoint e = lbEndpoints.get(j);
        String at = path + ".load_assignment.endpoints[" + i + "].lb_endpoints[" + j + "]";
        SocketAddress sa = socketAddress(e.getEndpoint().hasAddress(), e.getEndpoint().getAddress(), at + ".endpoint.address");
        if (sa == null) {
          ok = false;
          continue;
        }
        if (isStatic && !isIpLiteral(sa.getAddress())) {
          problems.error(at + ".endpoint.address.socket_address.address", "'" + sa.getAddress()
              + "' is not an IP address; a STATIC cluster needs IP addresses (use STRICT_DNS or LOGICAL_DNS for host names)");
          ok = false;
          continue;
        }
        if (sa.getPortValue() == 0) {
          problems.error(at + ".endpoint.address.socket_address.port_value", "0 is out of range; expected 1-65535");
          ok = false;
          continue;
        }
        int weight = 1;
        if (e.hasLoadBalancingWeight()) {
          weight = e.getLoadBalancingWeight().getValue();
          if (weight < 1) {
            problems.error(at + ".load_balancing_weight", Integer.toUnsignedString(weight)
                + " is out of range; expected 1-" + Integer.MAX_VALUE);
            ok = false;
            continue;
          }
        }
        endpoints.add(new EndpointConfig(sa.getAddress(), sa.getPortValue(), weight));
      }
    }
    if (c.getType() == Cluster.DiscoveryType.LOGICAL_DNS && endpoints.size() > 1) {
      problems.error(path + ".load_assignment", "a LOGICAL_DNS cluster has exactly one endpoint; found " + endpoints.size());
      ok = false;
    }
    Duration connectTimeout = c.hasConnectTimeout() ? RouteTranslator.duration(c.getConnectTimeout()) : DEFAULT_CONNECT_TIMEOUT;
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      problems.error(path + ".connect_timeout", connectTimeout + " is out of range; expected above 0");
      ok = false;
    }
    if (!ok || policy == null) {
      return null;
    }
    return new ClusterConfig(c.getName(), policy, connectTimeout, endpoints);
  }

  private static boolean isIpLiteral(String address) {
    try {
      InetAddress.ofLiteral(address);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Every route and tcp_proxy cluster reference must name a defined cluster that its listener kind can balance. */
  void checkReferences(Map<String, ClusterConfig> clusters, Map<String, String> clusterPaths) {
    java.util.Set<String> reported = new java.util.HashSet<>();
    for (RouteTranslator.ClusterReference ref : routes.references()) {
      if (!clusterPaths.containsKey(ref.cluster())) {
        problems.error(ref.path(), "route '" + ref.routeName() + "' names cluster '" + ref.cluster()
            + "', which is not defined; expected one of " + clusterPaths.keySet());
        continue;
      }
      ClusterConfig cluster = clusters.get(ref.cluster());
      // Report each cluster once even when several routes use it.
      if (cluster != null && !cluster.lbPolicy().runsOnSocketPath() && reported.add(ref.cluster())) {
        problems.error(clusterPaths.get(ref.cluster()) + ".lb_policy", cluster.lbPolicy()
            + " is not supported on HTTP listeners; expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM");
      }
    }
    for (RouteTranslator.ClusterReference ref : tcpReferences) {
      if (!clusterPaths.containsKey(ref.cluster())) {
        problems.error(ref.path(), "tcp_proxy '" + ref.routeName() + "' names cluster '" + ref.cluster()
            + "', which is not defined; expected one of " + clusterPaths.keySet());
      }
    }
  }

  AdminConfig admin(Bootstrap bootstrap) {
    if (!bootstrap.hasAdmin() || !bootstrap.getAdmin().hasAddress()) {
      return null;
    }
    SocketAddress sa = socketAddress(true, bootstrap.getAdmin().getAddress(), "admin.address");
    return sa == null ? null : new AdminConfig(sa.getAddress(), sa.getPortValue());
  }
}
