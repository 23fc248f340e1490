package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.Policy.EnvoyFilterPatch;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.ApplyTo;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.Context;
import io.keelson.control.policy.Policy.EnvoyFilterPatch.Operation;
import io.keelson.control.policy.ServiceNames;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Applies Istio EnvoyFilter patches to the resources translated for one proxy, after every other translation step,
 * as istiod does: the EnvoyFilters of the proxy's namespace and of the root namespace whose workloadSelector matches
 * its labels ({@link #select}), in istiod's order (priority, root namespace first, then name), each patch in its
 * document's order. A sidecar's inbound listeners (and their inline route configurations, and {@code inbound|}
 * clusters) are SIDECAR_INBOUND, its other resources SIDECAR_OUTBOUND; every resource of a gateway is GATEWAY. MERGE is
 * protobuf merge; a filter's typed_config of the same type is merged inside. Stateless and thread-safe.
 */
public final class EnvoyFilterPatches {
  static final String HCM = "envoy.filters.network.http_connection_manager";
  private static final String HCM_TYPE = "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();

  private EnvoyFilterPatches() {}

  /**
   * The EnvoyFilters of {@code state} for a proxy in {@code namespace} with {@code labels}, in the order istiod applies
   * them: by priority, the root namespace's before the proxy namespace's, then by name.
   */
  public static List<Policy.EnvoyFilter> select(PolicySet state, String namespace, Map<String, String> labels,
      String rootNamespace) {
    List<Policy.EnvoyFilter> out = new ArrayList<>();
    for (Policy.EnvoyFilter f : state.ofType(Policy.EnvoyFilter.class)) {
      if ((f.namespace().equals(namespace) || f.namespace().equals(rootNamespace))
          && MeshTranslator.matches(f.selector(), labels)) {
        out.add(f);
      }
    }
    out.sort(Comparator.comparingInt(Policy.EnvoyFilter::priority)
        .thenComparingInt(f -> f.namespace().equals(rootNamespace) ? 0 : 1)
        .thenComparing(Policy::name));
    return out;
  }

  /** {@code r} with {@code filters}' patches applied for a gateway ({@code gateway}) or a sidecar; {@code r} itself without any. */
  public static MeshResources apply(MeshResources r, List<Policy.EnvoyFilter> filters, boolean gateway) {
    if (filters.isEmpty()) {
      return r;
    }
    List<Listener> listeners = new ArrayList<>(r.listeners());
    List<RouteConfiguration> routes = new ArrayList<>(r.routes());
    List<Cluster> clusters = new ArrayList<>(r.clusters());
    Map<String, Integer> rdsPorts = rdsPorts(listeners);
    for (Policy.EnvoyFilter f : filters) {
      for (EnvoyFilterPatch written : f.patches()) {
        if (!contextApplies(written.context(), gateway)) {
          continue;
        }
        EnvoyFilterPatch p = withKeelsonClusters(written, clusters);
        switch (p.applyTo()) {
          case LISTENER, NETWORK_FILTER, HTTP_FILTER ->
              listeners.replaceAll(l -> listenerMatches(p, l, gateway) ? patchListener(p, l) : l);
          case CLUSTER -> patchClusters(p, ServiceNames.namespace(f.meta()), clusters, gateway);
          case ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE -> {
            Context own = gateway ? Context.GATEWAY : Context.SIDECAR_OUTBOUND;
            if (p.context() == Context.ANY || p.context() == own) {
              routes.replaceAll(rc -> patchRouteConfig(p, rc, rdsPorts.getOrDefault(rc.getName(), portOf(rc.getName()))));
            }
            // route configurations inline in a connection manager (a sidecar's inbound listener)
            listeners.replaceAll(l -> listenerContextMatches(p.context(), l, gateway)
                ? mapConnectionManagers(l, (port, hcm) -> hcm.hasRouteConfig()
                    ? hcm.toBuilder().setRouteConfig(patchRouteConfig(p, hcm.getRouteConfig(), port)).build() : hcm)
                : l);
          }
          default -> throw new IllegalStateException("unhandled applyTo " + p.applyTo());
        }
      }
    }
    // only a patched type gets a new version (the endpoints are never patched)
    return new MeshResources(List.copyOf(listeners), List.copyOf(routes), List.copyOf(clusters), r.endpoints(),
        listeners.equals(r.listeners()) ? r.listenersVersion() : MeshResources.digest(listeners),
        routes.equals(r.routes()) ? r.routesVersion() : MeshResources.digest(routes),
        clusters.equals(r.clusters()) ? r.clustersVersion() : MeshResources.digest(clusters), r.endpointsVersion());
  }

  /**
   * {@code p} with istiod's names of registry Services' clusters in its value named as Keelson names them
   * ({@link IstioClusterNames}); a CLUSTER patch's value is a cluster, whose own names are its author's.
   */
  private static EnvoyFilterPatch withKeelsonClusters(EnvoyFilterPatch p, List<Cluster> clusters) {
    if (p.applyTo() == ApplyTo.CLUSTER || p.value() == null) {
      return p;
    }
    Message value = IstioClusterNames.translate(p.value(), clusters.stream().map(Cluster::getName).toList());
    return value == p.value() ? p : new EnvoyFilterPatch(p.field(), p.applyTo(), p.context(), p.listener(), p.route(),
        p.cluster(), p.operation(), value);
  }

  /**
   * One proxy's patched resources: what it is given, the EnvoyFilters applied ({@code EnvoyFilter/ns/name}, in order),
   * and why each refused one was not applied.
   */
  public record Patched(MeshResources resources, List<String> applied, List<String> refused) {}

  /**
   * As {@link #apply}, one EnvoyFilter at a time, each checked by the data plane's own translation: one whose
   * patches make the data plane refuse resources it accepted before (e.g. a network filter where the data plane does
   * not run it, or a route to a cluster that does not exist) is not applied, so that it is reported by status instead of
   * NACKed by every proxy it selects. Remembers nothing: XdsServer shares the checks through its {@link EnvoyFilterChecks}.
   */
  public static Patched applyChecked(MeshResources r, List<Policy.EnvoyFilter> filters, boolean gateway) {
    return new EnvoyFilterChecks().apply(r, filters, gateway);
  }

  /**
   * Why {@code f} is not applied when the data plane's problems go from {@code before} to {@code after} with it, or
   * null when it adds none (problems are compared by where they are: a message may name the defined clusters, which a
   * patch changes).
   */
  static String refusal(Policy.EnvoyFilter f, List<String> before, List<String> after) {
    java.util.Set<String> known = new java.util.HashSet<>(before.stream().map(EnvoyFilterPatches::where).toList());
    List<String> added = after.stream().filter(x -> !known.contains(where(x))).toList();
    return added.isEmpty() ? null : f.meta().key()
        + " is not applied: Keelson's data plane would refuse the patched resources: " + String.join("; ", added);
  }

  /** A problem's path: {@code xds: PATH: message} -> {@code PATH}. */
  private static String where(String problem) {
    int from = problem.indexOf(": ");
    int to = from < 0 ? -1 : problem.indexOf(": ", from + 2);
    return to < 0 ? problem : problem.substring(0, to);
  }

  /** What the data plane's translation of {@code r} (as xDS delivers it, without a bootstrap) reports. */
  static List<String> problems(MeshResources r) {
    Map<String, RouteConfiguration> routes = new HashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new HashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    try {
      XdsSnapshotTranslator.translate("check",
          io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), routes,
          r.clusters(), endpoints);
      return List.of();
    } catch (io.keelson.dataplane.config.ConfigException e) {
      return e.problems();
    }
  }

  /**
   * The resource types ({@code listeners}, {@code routes}, {@code clusters}) the EnvoyFilters that differ between
   * {@code before} and {@code after} (added, removed, changed or reordered) patch, for {@code apply}'s report.
   */
  static List<String> typesChanged(List<Policy.EnvoyFilter> before, List<Policy.EnvoyFilter> after) {
    if (before.equals(after)) {
      return List.of();
    }
    java.util.Set<String> types = new java.util.TreeSet<>();
    List<Policy.EnvoyFilter> differing = new ArrayList<>(before);
    differing.addAll(after);
    for (Policy.EnvoyFilter f : differing) {
      if (before.contains(f) && after.contains(f) && before.indexOf(f) == after.indexOf(f)) {
        continue;
      }
      for (EnvoyFilterPatch p : f.patches()) {
        switch (p.applyTo()) {
          case LISTENER, NETWORK_FILTER, HTTP_FILTER -> types.add("listeners");
          case CLUSTER -> types.add("clusters");
          default -> { // RDS route configurations, and those inline in a sidecar's inbound listener
            types.add("routes");
            types.add("listeners");
          }
        }
      }
    }
    return List.copyOf(types);
  }

  /** The keys ({@code EnvoyFilter/ns/name}) of {@code filters}, for status. */
  public static List<String> keys(List<Policy.EnvoyFilter> filters) {
    return filters.stream().map(f -> f.meta().key()).toList();
  }

  private static boolean contextApplies(Context c, boolean gateway) {
    return c == Context.ANY || (c == Context.GATEWAY) == gateway;
  }

  private static Context listenerContext(Listener l, boolean gateway) {
    if (gateway) {
      return Context.GATEWAY;
    }
    return l.getName().equals(MeshMtls.INBOUND) || l.getName().equals(CapturedListeners.VIRTUAL_INBOUND)
        ? Context.SIDECAR_INBOUND : Context.SIDECAR_OUTBOUND;
  }

  private static boolean listenerContextMatches(Context c, Listener l, boolean gateway) {
    return c == Context.ANY || c == listenerContext(l, gateway);
  }

  private static int listenerPort(Listener l) {
    return l.getAddress().hasSocketAddress() ? l.getAddress().getSocketAddress().getPortValue() : 0;
  }

  /** A chain's port: its destination_port match (a captured sidecar's per-port chains), else its listener's. */
  private static int chainPort(Listener l, FilterChain c) {
    return c.getFilterChainMatch().hasDestinationPort() ? c.getFilterChainMatch().getDestinationPort().getValue()
        : listenerPort(l);
  }

  private static boolean listenerMatches(EnvoyFilterPatch p, Listener l, boolean gateway) {
    EnvoyFilterPatch.ListenerMatch m = p.listener();
    if (!listenerContextMatches(p.context(), l, gateway) || (m.name() != null && !m.name().equals(l.getName()))) {
      return false;
    }
    return m.port() == 0 || listenerPort(l) == m.port()
        || l.getFilterChainsList().stream().anyMatch(c -> chainPort(l, c) == m.port());
  }

  private static boolean chainMatches(EnvoyFilterPatch.ListenerMatch m, Listener l, FilterChain c) {
    return (m.chainName() == null || m.chainName().equals(c.getName()))
        && (m.port() == 0 || m.port() == listenerPort(l) || chainPort(l, c) == m.port());
  }

  private static Listener patchListener(EnvoyFilterPatch p, Listener l) {
    if (p.applyTo() == ApplyTo.LISTENER) {
      return l.toBuilder().mergeFrom(p.value()).build();
    }
    Listener.Builder b = l.toBuilder();
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      FilterChain c = b.getFilterChains(i);
      if (chainMatches(p.listener(), l, c)) {
        b.setFilterChains(i, p.applyTo() == ApplyTo.NETWORK_FILTER ? patchNetworkFilters(p, c) : patchHttpFilters(p, c));
      }
    }
    if (b.hasDefaultFilterChain() && chainMatches(p.listener(), l, b.getDefaultFilterChain())) {
      FilterChain c = b.getDefaultFilterChain();
      b.setDefaultFilterChain(p.applyTo() == ApplyTo.NETWORK_FILTER ? patchNetworkFilters(p, c) : patchHttpFilters(p, c));
    }
    return b.build();
  }

  private static FilterChain patchNetworkFilters(EnvoyFilterPatch p, FilterChain c) {
    List<Filter> filters = new ArrayList<>(c.getFiltersList());
    if (p.listener().filter() != null && p.operation() != Operation.ADD && p.operation() != Operation.INSERT_FIRST
        && filters.stream().noneMatch(f -> f.getName().equals(p.listener().filter()))) {
      return c; // the chain does not run the filter the patch names
    }
    patchList(p.operation(), filters, (Filter) p.value(), p.listener().filter(), Filter::getName,
        EnvoyFilterPatches::mergeFilter);
    return c.toBuilder().clearFilters().addAllFilters(filters).build();
  }

  private static FilterChain patchHttpFilters(EnvoyFilterPatch p, FilterChain c) {
    String hcmName = p.listener().filter();
    if (hcmName != null && !hcmName.equals(HCM)) {
      return c; // HTTP filters live in the connection manager only
    }
    FilterChain.Builder b = c.toBuilder();
    for (int i = 0; i < b.getFiltersCount(); i++) {
      Filter f = b.getFilters(i);
      if (!f.getName().equals(HCM) || !f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
        continue;
      }
      HttpConnectionManager hcm = unpackHcm(f);
      List<HttpFilter> filters = new ArrayList<>(hcm.getHttpFiltersList());
      String sub = p.listener().subFilter();
      if (sub != null && p.operation() != Operation.ADD && p.operation() != Operation.INSERT_FIRST
          && filters.stream().noneMatch(h -> h.getName().equals(sub))) {
        continue;
      }
      patchList(p.operation(), filters, (HttpFilter) p.value(), sub, HttpFilter::getName,
          EnvoyFilterPatches::mergeHttpFilter);
      b.setFilters(i, f.toBuilder().setTypedConfig(Any.pack(hcm.toBuilder().clearHttpFilters()
          .addAllHttpFilters(filters).build())));
    }
    return b.build();
  }

  /**
   * Istio's list operations on filters: relative to the first one named {@code anchor} (every one when
   * {@code anchor} is null, for MERGE and REMOVE), ADD appends, INSERT_FIRST prepends. A filter of the patch's name
   * already present is not added twice.
   */
  private static <T extends Message> void patchList(Operation op, List<T> list, T value, String anchor,
      Function<T, String> name, java.util.function.BinaryOperator<T> merge) {
    int at = -1;
    for (int i = 0; anchor != null && i < list.size(); i++) {
      if (name.apply(list.get(i)).equals(anchor)) {
        at = i;
        break;
      }
    }
    boolean present = value != null && list.stream().anyMatch(x -> name.apply(x).equals(name.apply(value)));
    switch (op) {
      case ADD -> {
        if (!present) {
          list.add(value);
        }
      }
      case INSERT_FIRST -> {
        if (!present) {
          list.addFirst(value);
        }
      }
      case INSERT_BEFORE -> {
        if (at >= 0 && !present) {
          list.add(at, value);
        }
      }
      case INSERT_AFTER -> {
        if (at >= 0 && !present) {
          list.add(at + 1, value);
        }
      }
      case REPLACE -> {
        if (at >= 0) {
          list.set(at, value);
        }
      }
      case REMOVE -> list.removeIf(x -> anchor == null || name.apply(x).equals(anchor));
      case MERGE -> list.replaceAll(x -> anchor == null || name.apply(x).equals(anchor) ? merge.apply(x, value) : x);
      default -> throw new IllegalStateException("unhandled operation " + op);
    }
  }

  private static Filter mergeFilter(Filter base, Filter patch) {
    Filter merged = base.toBuilder().mergeFrom(patch.toBuilder().clearTypedConfig().build()).build();
    return patch.hasTypedConfig() ? merged.toBuilder().setTypedConfig(mergeAny(base.getTypedConfig(),
        patch.getTypedConfig())).build() : merged;
  }

  private static HttpFilter mergeHttpFilter(HttpFilter base, HttpFilter patch) {
    HttpFilter merged = base.toBuilder().mergeFrom(patch.toBuilder().clearTypedConfig().build()).build();
    return patch.hasTypedConfig() ? merged.toBuilder().setTypedConfig(mergeAny(base.getTypedConfig(),
        patch.getTypedConfig())).build() : merged;
  }

  /** Istio's typed_config merge: the same type merges inside (proto merge of the two messages), another replaces. */
  static Any mergeAny(Any base, Any patch) {
    if (!base.getTypeUrl().equals(patch.getTypeUrl())) {
      return patch;
    }
    String url = base.getTypeUrl();
    Descriptor type = XdsSnapshotTranslator.typeRegistry().find(url.substring(url.lastIndexOf('/') + 1));
    if (type == null) {
      return patch;
    }
    try {
      DynamicMessage merged = DynamicMessage.parseFrom(type, base.getValue()).toBuilder()
          .mergeFrom(DynamicMessage.parseFrom(type, patch.getValue())).build();
      return Any.newBuilder().setTypeUrl(url).setValue(merged.toByteString()).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot read " + url, e); // both were written by this process
    }
  }

  private static HttpConnectionManager unpackHcm(Filter f) {
    try {
      return f.getTypedConfig().unpack(HttpConnectionManager.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot read the connection manager of " + f.getName(), e);
    }
  }

  /** {@code l} with each connection manager replaced by {@code patch}(its chain's port, it). */
  private static Listener mapConnectionManagers(Listener l,
      java.util.function.BiFunction<Integer, HttpConnectionManager, HttpConnectionManager> patch) {
    Listener.Builder b = l.toBuilder();
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      FilterChain.Builder c = b.getFilterChainsBuilder(i);
      int port = chainPort(l, l.getFilterChains(i));
      for (int j = 0; j < c.getFiltersCount(); j++) {
        Filter f = c.getFilters(j);
        if (f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
          c.setFilters(j, f.toBuilder().setTypedConfig(Any.pack(patch.apply(port, unpackHcm(f)))));
        }
      }
    }
    return b.build();
  }

  /** The port of each RDS route configuration: the first listener's that names it. */
  private static Map<String, Integer> rdsPorts(List<Listener> listeners) {
    Map<String, Integer> out = new HashMap<>();
    for (Listener l : listeners) {
      for (FilterChain c : l.getFilterChainsList()) {
        for (Filter f : c.getFiltersList()) {
          if (f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
            HttpConnectionManager hcm = unpackHcm(f);
            if (hcm.hasRds()) {
              out.putIfAbsent(hcm.getRds().getRouteConfigName(), chainPort(l, c));
            }
          }
        }
      }
    }
    return out;
  }

  /** A route configuration named by its port (a captured sidecar's per-port routes), else 0. */
  private static int portOf(String name) {
    return name.matches("\\d{1,5}") ? Integer.parseInt(name) : 0;
  }

  private static RouteConfiguration patchRouteConfig(EnvoyFilterPatch p, RouteConfiguration rc, int port) {
    EnvoyFilterPatch.RouteMatch m = p.route();
    if ((m.name() != null && !m.name().equals(rc.getName())) || (m.port() != 0 && m.port() != port)) {
      return rc;
    }
    if (p.applyTo() == ApplyTo.ROUTE_CONFIGURATION) {
      return rc.toBuilder().mergeFrom(p.value()).build();
    }
    RouteConfiguration.Builder b = rc.toBuilder();
    if (p.applyTo() == ApplyTo.VIRTUAL_HOST && p.operation() == Operation.ADD) {
      VirtualHost vh = (VirtualHost) p.value();
      if (b.getVirtualHostsList().stream().noneMatch(v -> v.getName().equals(vh.getName()))) {
        b.addVirtualHosts(vh);
      }
      return b.build();
    }
    for (int i = b.getVirtualHostsCount() - 1; i >= 0; i--) {
      VirtualHost vh = b.getVirtualHosts(i);
      if (m.vhost() != null && !m.vhost().equals(vh.getName())) {
        continue;
      }
      if (p.applyTo() == ApplyTo.VIRTUAL_HOST) {
        if (p.operation() == Operation.REMOVE) {
          b.removeVirtualHosts(i);
        } else if (anyRouteMatches(m, vh)) {
          b.setVirtualHosts(i, vh.toBuilder().mergeFrom(p.value()));
        }
      } else {
        b.setVirtualHosts(i, patchRoutes(p, vh));
      }
    }
    return b.build();
  }

  /** A VIRTUAL_HOST match with vhost.route names a route the virtual host must have (Istio matches it so). */
  private static boolean anyRouteMatches(EnvoyFilterPatch.RouteMatch m, VirtualHost vh) {
    return m.routeName() == null && (m.action() == null || m.action().equals("ANY"))
        || vh.getRoutesList().stream().anyMatch(r -> routeMatches(m, r));
  }

  private static boolean routeMatches(EnvoyFilterPatch.RouteMatch m, Route r) {
    if (m.routeName() != null && !m.routeName().equals(r.getName())) {
      return false;
    }
    return switch (m.action() == null ? "ANY" : m.action()) {
      case "ROUTE" -> r.hasRoute();
      case "REDIRECT" -> r.hasRedirect();
      case "DIRECT_RESPONSE" -> r.hasDirectResponse();
      default -> true;
    };
  }

  private static VirtualHost patchRoutes(EnvoyFilterPatch p, VirtualHost vh) {
    VirtualHost.Builder b = vh.toBuilder();
    for (int i = b.getRoutesCount() - 1; i >= 0; i--) {
      Route r = b.getRoutes(i);
      if (!routeMatches(p.route(), r)) {
        continue;
      }
      if (p.operation() == Operation.REMOVE) {
        b.removeRoutes(i);
      } else {
        b.setRoutes(i, r.toBuilder().mergeFrom(p.value()));
      }
    }
    return b.build();
  }

  private static Context clusterContext(Cluster c, boolean gateway) {
    return gateway ? Context.GATEWAY
        : c.getName().startsWith("inbound|") ? Context.SIDECAR_INBOUND : Context.SIDECAR_OUTBOUND;
  }

  private static boolean clusterMatches(EnvoyFilterPatch p, String namespace, Cluster c, boolean gateway) {
    EnvoyFilterPatch.ClusterMatch m = p.cluster();
    if (p.context() != Context.ANY && p.context() != clusterContext(c, gateway)) {
      return false;
    }
    if (m.name() != null && !m.name().equals(c.getName())) {
      return false;
    }
    String name = c.getName();
    if (name.startsWith("outbound|")) {
      // A ServiceEntry host's: outbound|PORT|SUBSET|HOST, one cluster per port; the host is compared whole.
      String[] parts = name.split("\\|", 4);
      if (parts.length < 4) {
        return false;
      }
      String subset = parts[2].isEmpty() ? null : parts[2];
      return (m.service() == null || m.service().equals(parts[3]))
          && (m.port() == 0 || String.valueOf(m.port()).equals(parts[1]))
          && (m.subset() == null || m.subset().equals(subset));
    }
    // A registry Service's: SERVICE or SERVICE|SUBSET, one cluster for all its ports, so portNumber matches any port.
    int bar = name.indexOf('|');
    String service = bar < 0 ? name : name.substring(0, bar);
    String subset = bar < 0 ? null : name.substring(bar + 1);
    return (m.service() == null || registryService(m.service(), namespace, service))
        && (m.subset() == null || m.subset().equals(subset));
  }

  /**
   * True when a host {@code written} in a document of {@code namespace} names the registry Service of key
   * {@code service}: a short name is that namespace's, {@code NAME.NS} / {@code NAME.NS.svc[.DOMAIN]} namespace NS's
   * ({@link io.keelson.control.policy.ServiceNames}).
   */
  static boolean registryService(String written, String namespace, String service) {
    return io.keelson.control.policy.ServiceNames.resolve(written, namespace).equals(service);
  }

  /** {@link #registryService(String, String, String)} for a host of namespace default (a qualified cluster name's). */
  static boolean registryService(String written, String service) {
    return registryService(written, io.keelson.control.policy.ServiceNames.DEFAULT_NAMESPACE, service);
  }

  private static void patchClusters(EnvoyFilterPatch p, String namespace, List<Cluster> clusters, boolean gateway) {
    switch (p.operation()) {
      case ADD -> {
        Cluster add = (Cluster) p.value();
        if (clusters.stream().noneMatch(c -> c.getName().equals(add.getName()))) {
          clusters.add(add);
        }
      }
      case REMOVE -> clusters.removeIf(c -> clusterMatches(p, namespace, c, gateway));
      case MERGE -> clusters.replaceAll(c -> clusterMatches(p, namespace, c, gateway) ? c.toBuilder().mergeFrom(p.value()).build()
          : c);
      default -> throw new IllegalStateException("unhandled cluster operation " + p.operation());
    }
  }
}
