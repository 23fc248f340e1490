package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Translates static_resources.clusters, reporting every value Keelson cannot run. Used by one thread. */
final class ClusterTranslator {
  static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final Problems problems;
  private final ResilienceTranslator resilience;

  private io.keelson.dataplane.config.DnsResolverConfig defaultDnsResolver;

  ClusterTranslator(Problems problems) {
    this.problems = problems;
    this.resilience = new ResilienceTranslator(problems);
  }

  /** The bootstrap's DNS resolver config: DNS clusters without their own use it (null: the system's resolver). */
  ClusterTranslator defaultDnsResolver(io.keelson.dataplane.config.DnsResolverConfig resolver) {
    this.defaultDnsResolver = resolver;
    return this;
  }

  Map<String, ClusterConfig> clusters(Bootstrap.StaticResources resources, Map<String, String> pathsByName) {
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < resources.getClustersCount(); i++) {
      paths.add("static_resources.clusters[" + i + "]");
    }
    return clusters(resources.getClustersList(), paths, Map.of(), pathsByName);
  }

  /**
   * Translates clusters, each reported under its own path. A cluster of type EDS takes its endpoints
   * from {@code edsAssignments} (by eds_cluster_config.service_name, else the cluster name); without
   * an assignment it is an error.
   */
  Map<String, ClusterConfig> clusters(List<Cluster> sources, List<String> paths,
      Map<String, ClusterLoadAssignment> edsAssignments, Map<String, String> pathsByName) {
    Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
    for (int i = 0; i < sources.size(); i++) {
      Cluster c = sources.get(i);
      String path = paths.get(i);
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
      ClusterConfig cluster = cluster(c, path, edsAssignments);
      if (cluster != null) {
        clusters.put(c.getName(), cluster);
      }
    }
    return clusters;
  }

  /** The name an EDS cluster's endpoints are delivered under (Envoy: service_name, else the cluster name). */
  static String edsServiceName(Cluster c) {
    String service = c.getEdsClusterConfig().getServiceName();
    return service.isEmpty() ? c.getName() : service;
  }

  private ClusterConfig cluster(Cluster c, String path, Map<String, ClusterLoadAssignment> edsAssignments) {
    boolean ok = true;
    boolean eds = c.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
        && c.getType() == Cluster.DiscoveryType.EDS;
    ClusterLoadAssignment assignment = c.getLoadAssignment();
    String assignmentPath = path + ".load_assignment";
    switch (c.getClusterDiscoveryTypeCase()) {
      case TYPE -> {
        switch (c.getType()) {
          case STATIC, STRICT_DNS, LOGICAL_DNS -> {}
          case EDS -> {
            ClusterLoadAssignment delivered = edsAssignments.get(edsServiceName(c));
            if (delivered == null) {
              problems.error(path + ".type", "EDS needs an xDS source and the endpoints of '" + edsServiceName(c)
                  + "'; expected one of STATIC, STRICT_DNS, LOGICAL_DNS in a static bootstrap");
              ok = false;
            } else {
              assignment = delivered;
              assignmentPath = "ClusterLoadAssignment[" + edsServiceName(c) + "]";
            }
          }
          case ORIGINAL_DST -> {}
          default -> {
            problems.error(path + ".type", c.getType()
                + " is not supported; expected one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST");
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
          case CLUSTER_PROVIDED -> LbPolicy.CLUSTER_PROVIDED;
          default -> {
            problems.error(path + ".lb_policy", c.getLbPolicy()
                + " is not supported; expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, MAGLEV, RING_HASH, CLUSTER_PROVIDED");
            yield null;
          }
        };
    io.keelson.dataplane.config.OriginalDstConfig originalDst = null;
    boolean originalDstType = c.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
        && c.getType() == Cluster.DiscoveryType.ORIGINAL_DST;
    if (originalDstType) {
      originalDst = originalDst(c, path);
      ok &= originalDst != null;
    } else {
      if (policy == LbPolicy.CLUSTER_PROVIDED) {
        problems.error(path + ".lb_policy", "CLUSTER_PROVIDED is for clusters that pick the host themselves;"
            + " expected type ORIGINAL_DST with it (Envoy rejects it on a " + c.getType() + " cluster too)");
        ok = false;
      }
      if (c.hasOriginalDstLbConfig()) {
        problems.error(path + ".original_dst_lb_config", "applies to type ORIGINAL_DST clusters only");
        ok = false;
      }
    }
    io.keelson.dataplane.config.Http2Options http2 = null;
    if (c.hasHttp2ProtocolOptions()) { // the legacy cluster field
      http2 = Http2OptionsTranslator.translate(c.getHttp2ProtocolOptions(), io.keelson.dataplane.config.Http2Options.DEFAULT,
          path + ".http2_protocol_options", problems);
      ok &= http2 != null;
    }
    Duration idleTimeout = ClusterConfig.DEFAULT_IDLE_TIMEOUT;
    Duration maxConnectionDuration = Duration.ZERO;
    int maxRequestsPerConnection = 0;
    for (var e : c.getTypedExtensionProtocolOptionsMap().entrySet()) {
      String at = path + ".typed_extension_protocol_options[\"" + e.getKey() + "\"]";
      String type = SupportedTypes.typeName(e.getValue().getTypeUrl());
      if (!type.equals(SupportedTypes.UPSTREAM_HTTP_OPTIONS) || !e.getKey().equals(SupportedTypes.UPSTREAM_HTTP_OPTIONS)) {
        problems.error(at, "protocol options " + type + " are not supported; expected key and type "
            + SupportedTypes.UPSTREAM_HTTP_OPTIONS);
        ok = false;
        continue;
      }
      try {
        var options = e.getValue().unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class);
        if (options.hasCommonHttpProtocolOptions()) {
          var common = options.getCommonHttpProtocolOptions();
          if (common.hasIdleTimeout()) {
            idleTimeout = RouteTranslator.duration(common.getIdleTimeout());
          }
          if (common.hasMaxConnectionDuration()) {
            maxConnectionDuration = RouteTranslator.duration(common.getMaxConnectionDuration());
          }
          if (common.hasMaxRequestsPerConnection()) {
            long max = Integer.toUnsignedLong(common.getMaxRequestsPerConnection().getValue());
            maxRequestsPerConnection = (int) Math.min(max, Integer.MAX_VALUE); // 0: no limit, as Envoy
          }
        }
      } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
        problems.error(at, "cannot be read: " + ex.getMessage());
        ok = false;
      }
      boolean hadErrors = problems.hasErrors();
      var h2 = Http2OptionsTranslator.upstream(e.getValue(), at, problems);
      if (h2 != null) {
        http2 = h2;
      } else if (!hadErrors && problems.hasErrors()) {
        ok = false;
      }
    }
    var breakers = c.hasCircuitBreakers()
        ? resilience.circuitBreakers(c.getCircuitBreakers(), path + ".circuit_breakers")
        : io.keelson.dataplane.config.CircuitBreakerConfig.DEFAULTS;
    var outlier = c.hasOutlierDetection() ? resilience.outlierDetection(c.getOutlierDetection(), path + ".outlier_detection") : null;
    io.keelson.dataplane.tls.ClientTls tls = null;
    int proxyProtocol = 0;
    if (c.hasTransportSocket()) {
      var socket = c.getTransportSocket();
      String socketPath = path + ".transport_socket";
      var upstream = UpstreamProxyProtocolTranslator.unwrap(socket, socketPath, problems);
      if (upstream != null) {
        proxyProtocol = upstream.version();
        socket = upstream.inner();
        socketPath = upstream.innerPath();
      }
      if (upstream == null && UpstreamProxyProtocolTranslator.isUpstreamProxyProtocol(socket)) {
        ok = false; // reported
      } else if (socket != null) {
        tls = new TlsTranslator(problems).upstream(socket, socketPath, "cluster '" + c.getName() + "'", http2 != null);
        ok &= tls != null;
      }
    }
    TransportSocketMatches socketMatches = TransportSocketMatches.of(c, path, http2 != null, proxyProtocol, problems);
    if (socketMatches == null) {
      ok = false;
      socketMatches = TransportSocketMatches.NONE;
    } else if (originalDstType && !socketMatches.matches().isEmpty()) {
      problems.error(path + ".transport_socket_matches", "an ORIGINAL_DST cluster's hosts have no metadata to match;"
          + " not supported");
      ok = false;
    }
    boolean isStatic = c.getType() == Cluster.DiscoveryType.STATIC || eds;
    List<EndpointConfig> endpoints = new ArrayList<>();
    List<LocalityLbEndpoints> localities = assignment.getEndpointsList();
    for (int i = 0; i < localities.size(); i++) {
      List<LbEndpoint> lbEndpoints = localities.get(i).getLbEndpointsList();
      for (int j = 0; j < lbEndpoints.size(); j++) {
        LbEndpoint e = lbEndpoints.get(j);
        String at = assignmentPath + ".endpoints[" + i + "].lb_endpoints[" + j + "]";
        SocketAddress sa = Addresses.socketAddress(problems, e.getEndpoint().hasAddress(), e.getEndpoint().getAddress(), at + ".endpoint.address");
        if (sa == null) {
          ok = false;
          continue;
        }
        if (isStatic && !isIpLiteral(sa.getAddress())) {
          problems.error(at + ".endpoint.address.socket_address.address", "'" + sa.getAddress()
              + "' is not an IP address; " + (eds ? "an EDS" : "a STATIC") + " cluster needs IP addresses (use STRICT_DNS or LOGICAL_DNS for host names)");
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
        endpoints.add(new EndpointConfig(sa.getAddress(), sa.getPortValue(), weight,
            locality(localities.get(i)), localities.get(i).hasLoadBalancingWeight() ? localities.get(i).getLoadBalancingWeight().getValue() : 0,
            localities.get(i).getPriority(), socketMatches.resolve(e.getMetadata(), localities.get(i).getMetadata())));
      }
    }
    if (!priorities(localities, assignmentPath)) {
      ok = false;
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
    java.net.InetSocketAddress source = null;
    java.net.InetSocketAddress extraSource = null;
    var bind = c.getUpstreamBindConfig();
    String bindPath = path + ".upstream_bind_config";
    if (bind.hasSourceAddress()) { // without one (Envoy allows that): the kernel's choice
      source = sourceAddress(bind.getSourceAddress(), bindPath + ".source_address");
      ok &= source != null;
    }
    if (bind.getExtraSourceAddressesCount() > 0) {
      extraSource = extraSourceAddress(bind, source, bindPath);
      ok &= extraSource != null;
    }
    io.keelson.dataplane.config.TcpKeepalive keepalive = null;
    if (c.getUpstreamConnectionOptions().hasTcpKeepalive()) {
      keepalive = tcpKeepalive(c.getUpstreamConnectionOptions().getTcpKeepalive(),
          path + ".upstream_connection_options.tcp_keepalive");
      ok &= keepalive != null;
    }
    io.keelson.dataplane.config.DnsResolution dns = null;
    if (c.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
        && (c.getType() == Cluster.DiscoveryType.STRICT_DNS || c.getType() == Cluster.DiscoveryType.LOGICAL_DNS)) {
      dns = DnsResolutionTranslator.translate(c, path, problems, defaultDnsResolver);
      ok &= dns != null;
    }
    boolean[] healthOk = {true};
    var healthCheck = HealthCheckTranslator.translate(c, path, problems, healthOk);
    var lbOptions = LbOptionsTranslator.lbOptions(c, path, problems, healthOk);
    if ((tls != null || socketMatches.matches().stream().anyMatch(m -> m.tls() != null)) && healthCheck != null && !(healthCheck.check() instanceof io.keelson.dataplane.config.HealthCheckConfig.Tcp)) {
      // The probes (health/SocketProbe, GrpcProbe) speak plaintext; Envoy checks through the cluster's transport socket.
      problems.error(path + ".health_checks[0]", "cluster '" + c.getName() + "': HTTP and gRPC health checks of a TLS cluster"
          + " (transport_socket) are not supported yet; use tcp_health_check or remove transport_socket");
      return null;
    }
    if (!ok || policy == null || !healthOk[0]) {
      return null;
    }
    String[] peerExchange = {null};
    if (!upstreamFilters(c, path, peerExchange)) {
      return null;
    }
    return new ClusterConfig(c.getName(), policy, connectTimeout, endpoints, breakers, outlier, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lbOptions, tls, originalDst, source, maxRequestsPerConnection, keepalive, proxyProtocol,
        socketMatches.matches(), extraSource, peerExchange[0], dns);
  }

  /** Envoy's TcpKeepalive: each set field at least 1 (0 is refused, as the kernel refuses it). */
  private io.keelson.dataplane.config.TcpKeepalive tcpKeepalive(io.envoyproxy.envoy.config.core.v3.TcpKeepalive k,
      String path) {
    Integer probes = k.hasKeepaliveProbes()
        ? inRange(k.getKeepaliveProbes().getValue(), 127, path + ".keepalive_probes") : null; // Linux's TCP_KEEPCNT cap
    Integer time = k.hasKeepaliveTime() ? inRange(k.getKeepaliveTime().getValue(), 32767, path + ".keepalive_time") : null;
    Integer interval = k.hasKeepaliveInterval()
        ? inRange(k.getKeepaliveInterval().getValue(), 32767, path + ".keepalive_interval") : null;
    if ((k.hasKeepaliveProbes() && probes == null) || (k.hasKeepaliveTime() && time == null)
        || (k.hasKeepaliveInterval() && interval == null)) {
      return null;
    }
    return new io.keelson.dataplane.config.TcpKeepalive(probes, time, interval);
  }

  private Integer inRange(int value, int max, String path) {
    if (value < 1 || value > max) { // the kernel's bounds: 32767 s for TCP_KEEPIDLE/TCP_KEEPINTVL, 127 for TCP_KEEPCNT
      problems.error(path, value + " is out of range; expected 1 to " + max);
      return null;
    }
    return value;
  }

  /**
   * upstream_bind_config.extra_source_addresses, as Envoy's default local address selector takes them: one address, of
   * the other IP family than source_address (which it needs), that connections to endpoints of its family bind instead
   * (istiod's ::6 beside 127.0.0.6 for dual-stack pods). Null after an error.
   */
  private java.net.InetSocketAddress extraSourceAddress(io.envoyproxy.envoy.config.core.v3.BindConfig bind,
      java.net.InetSocketAddress source, String path) {
    String at = path + ".extra_source_addresses";
    if (!bind.hasSourceAddress()) {
      problems.error(at, "extra source addresses need upstream_bind_config.source_address; set it (e.g. 127.0.0.6"
          + " beside ::6)");
      return null;
    }
    if (bind.getExtraSourceAddressesCount() > 1) {
      problems.error(at, bind.getExtraSourceAddressesCount() + " addresses; expected one (of the other IP family than"
          + " source_address), as Envoy's default local address selector");
      return null;
    }
    java.net.InetSocketAddress extra = sourceAddress(bind.getExtraSourceAddresses(0).getAddress(), at + "[0].address");
    if (extra == null || source == null) {
      return null;
    }
    if ((extra.getAddress() instanceof java.net.Inet6Address) == (source.getAddress() instanceof java.net.Inet6Address)) {
      problems.error(at + "[0].address", "'" + extra.getAddress().getHostAddress() + "' is of the same IP family as"
          + " source_address '" + source.getAddress().getHostAddress() + "'; expected the other family (e.g. ::6"
          + " beside 127.0.0.6)");
      return null;
    }
    return extra;
  }

  /**
   * A BindConfig source address at {@code at}: an IP literal and port 0 (Envoy binds it before each upstream connect
   * and lets the kernel pick the port). The other BindConfig fields are reported by {@link SupportedFields}. Null after
   * an error.
   */
  private java.net.InetSocketAddress sourceAddress(SocketAddress sa, String at) {
    boolean ok = true;
    if (!isIpLiteral(sa.getAddress())) {
      problems.error(at + ".address", "'" + sa.getAddress() + "' is not an IP address; expected the local IP address"
          + " upstream connections bind, e.g. 127.0.0.6");
      ok = false;
    }
    if (sa.getPortValue() != 0) {
      problems.error(at + ".port_value", Integer.toUnsignedString(sa.getPortValue()) + " is not supported; expected 0"
          + " (the kernel picks each upstream connection's local port)");
      ok = false;
    }
    if (sa.getProtocol() != SocketAddress.Protocol.TCP) {
      problems.error(at + ".protocol", sa.getProtocol() + " is not supported; expected TCP");
      ok = false;
    }
    return ok ? new java.net.InetSocketAddress(InetAddress.ofLiteral(sa.getAddress()), 0) : null;
  }

  /**
   * An ORIGINAL_DST cluster's options, checked as Envoy checks them: lb_policy CLUSTER_PROVIDED, no endpoints (the host
   * is each connection's original destination), and, since hosts come and go per connection, no active health check
   * and no outlier detection here. Null after an error.
   */
  private io.keelson.dataplane.config.OriginalDstConfig originalDst(Cluster c, String path) {
    boolean ok = true;
    if (c.getLbPolicy() != Cluster.LbPolicy.CLUSTER_PROVIDED) {
      problems.error(path + ".lb_policy", c.getLbPolicy() + " is not valid on an ORIGINAL_DST cluster; expected"
          + " CLUSTER_PROVIDED (Envoy rejects any other lb_policy there)");
      ok = false;
    }
    if (c.hasLoadAssignment() && c.getLoadAssignment().getEndpointsCount() > 0) {
      problems.error(path + ".load_assignment", "an ORIGINAL_DST cluster has no endpoints (each connection goes to its"
          + " original destination); remove load_assignment.endpoints (Envoy rejects them too)");
      ok = false;
    }
    if (c.getHealthChecksCount() > 0) {
      problems.error(path + ".health_checks", "active health checks of an ORIGINAL_DST cluster are not supported");
      ok = false;
    }
    if (c.hasOutlierDetection()) {
      problems.error(path + ".outlier_detection", "outlier detection of an ORIGINAL_DST cluster is not supported yet");
      ok = false;
    }
    if (c.hasTransportSocket()) {
      problems.error(path + ".transport_socket", "TLS to an ORIGINAL_DST cluster's hosts is not supported yet");
      ok = false;
    }
    var lb = c.getOriginalDstLbConfig();
    String header = lb.getHttpHeaderName().isEmpty()
        ? io.keelson.dataplane.config.OriginalDstConfig.DEFAULT_HEADER
        : lb.getHttpHeaderName().toLowerCase(java.util.Locale.ROOT);
    Duration cleanup = io.keelson.dataplane.config.OriginalDstConfig.DEFAULT_CLEANUP_INTERVAL;
    if (c.hasCleanupInterval()) {
      cleanup = RouteTranslator.duration(c.getCleanupInterval());
      if (cleanup.isNegative() || cleanup.isZero()) {
        problems.error(path + ".cleanup_interval", cleanup + " is out of range; expected above 0");
        ok = false;
      }
    }
    return ok ? new io.keelson.dataplane.config.OriginalDstConfig(lb.getUseHttpHeader(), header, cleanup) : null;
  }

  /**
   * Envoy's rule for priority levels: they run from 0 without a gap (a level with no locality would take no traffic,
   * and Envoy rejects the assignment). False, with the error, when one is skipped.
   */
  private boolean priorities(List<LocalityLbEndpoints> localities, String assignmentPath) {
    java.util.BitSet used = new java.util.BitSet();
    int highest = 0;
    for (int i = 0; i < localities.size(); i++) {
      int p = localities.get(i).getPriority();
      if (p < 0 || p > 128) { // Envoy's proto: lte 128
        problems.error(assignmentPath + ".endpoints[" + i + "].priority", Integer.toUnsignedString(p)
            + " is out of range; expected 0-128");
        return false;
      }
      used.set(p);
      highest = Math.max(highest, p);
    }
    int gap = used.nextClearBit(0);
    if (gap < highest) {
      problems.error(assignmentPath + ".endpoints", "priority " + gap + " has no locality while priority " + highest
          + " has; priorities must run from 0 without a gap");
      return false;
    }
    return true;
  }

  /** {@code region/zone/sub_zone}, or "" when the locality is not given. */
  private static String locality(LocalityLbEndpoints l) {
    if (!l.hasLocality()) {
      return "";
    }
    var loc = l.getLocality();
    return loc.getRegion() + "/" + loc.getZone() + "/" + loc.getSubZone();
  }

  private static boolean isIpLiteral(String address) {
    try {
      InetAddress.ofLiteral(address);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * The cluster's upstream network filters ({@code filters}): only Istio's TCP metadata exchange
   * ({@code istio.metadata_exchange} / {@code envoy.filters.network.upstream.metadata_exchange}), at most once; its
   * protocol goes to {@code peerExchange[0]}. False after reporting what is wrong.
   */
  private boolean upstreamFilters(io.envoyproxy.envoy.config.cluster.v3.Cluster c, String path, String[] peerExchange) {
    for (int i = 0; i < c.getFiltersCount(); i++) {
      var f = c.getFilters(i);
      String at = path + ".filters[" + i + "]";
      if (!f.hasTypedConfig() || !MetadataExchangeTranslator.is(f.getTypedConfig())) {
        problems.error(at, "cluster '" + c.getName() + "': upstream network filter '" + f.getName() + "' is not supported;"
            + " expected only Istio's metadata exchange (typed_config " + MetadataExchangeTranslator.TYPE + ")");
        return false;
      }
      if (peerExchange[0] != null) {
        problems.error(at, "cluster '" + c.getName() + "': a second metadata exchange filter is not supported; expected one");
        return false;
      }
      peerExchange[0] = MetadataExchangeTranslator.protocol(f.getTypedConfig(), at + ".typed_config", problems);
      if (peerExchange[0] == null) {
        return false;
      }
    }
    return true;
  }
}
