package io.keelson.control.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Kubernetes' DNS search path for a sidecar's app, as istiod's {@code ResolveShortnameToFQDN}: in namespace
 * {@code shop}, {@code reviews} (and {@code reviews:PORT}) is {@code reviews.shop.svc.cluster.local}, never another
 * namespace's service. The shared translations give short names to the services of namespace default (what a sidecar
 * of namespace default sees); for a sidecar of any other namespace this takes them away, in the name table (captured
 * sidecars' DNS proxy), in the outbound virtual hosts' domains, in captured sidecars' TLS chains by SNI and in a
 * proxyless gRPC client's API listeners, where namespace default's service keeps its {@code NAME.default} names (an
 * API listener {@code NAME.default} for {@code xds:///NAME.default}), and gives each short name of a Service of the
 * sidecar's namespace to that service. Stateless.
 */
final class ClientNamespaceNames {
  private ClientNamespaceNames() {}

  /** {@link #apply(MeshResources, PolicySet, String, DistinctDomains)}, its domain clash warnings its own. */
  static MeshResources apply(MeshResources r, PolicySet state, String namespace) {
    return apply(r, state, namespace, new DistinctDomains());
  }

  /**
   * {@code r} as a sidecar of {@code namespace} gets it: {@code r} itself for namespace default.
   *
   * @param domains the domain clash warnings' memory (the xDS server's)
   */
  static MeshResources apply(MeshResources r, PolicySet state, String namespace, DistinctDomains domains) {
    if (namespace.equals(MeshNames.NAMESPACE)) {
      return r;
    }
    Map<String, String> keyOfShort = new TreeMap<>();
    Set<String> defaults = new TreeSet<>(); // namespace default's short names: NAME.default here
    for (Policy.Service s : state.ofType(Policy.Service.class)) {
      if (s.serviceNamespace().equals(namespace)) {
        keyOfShort.put(s.meta().name(), s.name());
      } else if (s.serviceNamespace().equals(MeshNames.NAMESPACE)) {
        defaults.add(s.name());
      }
    }
    if (keyOfShort.isEmpty() && defaults.isEmpty()) {
      return r;
    }
    List<Listener> listeners = withShortApiListeners(r.listeners().stream()
        .map(l -> withServerNames(withTable(l, keyOfShort, defaults), keyOfShort, defaults)).toList(), keyOfShort,
        defaults);
    List<RouteConfiguration> routes = r.routes().stream()
        .map(rc -> domains.of(withDomains(rc, keyOfShort, defaults))).toList();
    return r.withListenersAndRoutes(listeners, routes);
  }

  /**
   * A proxyless gRPC client dials {@code xds:///reviews} (or {@code reviews:PORT}): the API listener of that name is
   * then its namespace's service's (a copy of {@code reviews.shop}'s under the short name), or none; namespace
   * default's keeps its longer names ({@code reviews.default}, ..., whose virtual host has those domains).
   */
  private static List<Listener> withShortApiListeners(List<Listener> listeners, Map<String, String> keyOfShort,
      Set<String> defaults) {
    Map<String, String> shortOfKey = shortOfKey(keyOfShort);
    Map<String, Listener> byName = new LinkedHashMap<>();
    for (Listener l : listeners) {
      if (!l.hasApiListener() || !defaults.contains(host(l.getName()))) {
        byName.put(l.getName(), l);
      }
    }
    for (Listener l : listeners) {
      String name = l.hasApiListener() ? shortOfKey.get(host(l.getName())) : null;
      if (name != null) {
        String renamed = name + l.getName().substring(host(l.getName()).length());
        byName.put(renamed, l.toBuilder().setName(renamed).build());
      }
    }
    return List.copyOf(byName.values());
  }

  /** {@code name} ({@code host} or {@code host:port}, not an IPv6 literal) without its port. */
  private static String host(String name) {
    int colon = name.startsWith("[") ? -1 : name.indexOf(':');
    return colon < 0 ? name : name.substring(0, colon);
  }

  private static Map<String, String> shortOfKey(Map<String, String> keyOfShort) {
    Map<String, String> out = new TreeMap<>();
    keyOfShort.forEach((name, key) -> out.put(key, name));
    return out;
  }

  private static Listener withTable(Listener l, Map<String, String> keyOfShort, Set<String> defaults) {
    Struct meta = l.getMetadata().getFilterMetadataMap().get(MeshNames.METADATA_KEY);
    if (meta == null) {
      return l;
    }
    Struct table = meta.getFieldsOrThrow("table").getStructValue();
    Struct.Builder t = table.toBuilder();
    defaults.forEach(t::removeFields); // NAME.default and its longer names stay
    keyOfShort.forEach((name, key) -> {
      Value entry = table.getFieldsMap().get(key);
      if (entry != null) {
        t.putFields(name, entry);
      }
    });
    Struct withShort = meta.toBuilder().putFields("table", Value.newBuilder().setStructValue(t).build()).build();
    return l.toBuilder().setMetadata(l.getMetadata().toBuilder().putFilterMetadata(MeshNames.METADATA_KEY, withShort))
        .build();
  }

  /**
   * A captured sidecar's TLS chains by SNI (a TLS service's names): namespace default's short name matches no chain
   * (its chain keeps {@code NAME.default} and the longer names), the client namespace's service's chain also takes its
   * short name where no other chain of the listener has it.
   */
  private static Listener withServerNames(Listener l, Map<String, String> keyOfShort, Set<String> defaults) {
    Set<String> served = new HashSet<>();
    l.getFilterChainsList().forEach(c -> served.addAll(c.getFilterChainMatch().getServerNamesList()));
    if (served.isEmpty()) {
      return l;
    }
    served.removeAll(defaults);
    Listener.Builder b = l.toBuilder();
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      FilterChain c = b.getFilterChains(i);
      List<String> names = c.getFilterChainMatch().getServerNamesList();
      List<String> kept = new ArrayList<>(names.stream().filter(n -> !defaults.contains(n)).toList());
      keyOfShort.forEach((name, key) -> {
        if (names.contains(key) && served.add(name)) {
          kept.add(name);
        }
      });
      if (!kept.equals(names) && !kept.isEmpty()) {
        b.setFilterChains(i, c.toBuilder().setFilterChainMatch(c.getFilterChainMatch().toBuilder().clearServerNames()
            .addAllServerNames(kept)));
      }
    }
    return b.build();
  }

  private static RouteConfiguration withDomains(RouteConfiguration rc, Map<String, String> keyOfShort,
      Set<String> defaults) {
    Map<String, String> shortOfKey = shortOfKey(keyOfShort);
    RouteConfiguration.Builder b = rc.toBuilder();
    for (int i = 0; i < b.getVirtualHostsCount(); i++) {
      VirtualHost vh = b.getVirtualHosts(i);
      Set<String> domains = new LinkedHashSet<>();
      for (String d : vh.getDomainsList()) {
        String host = host(d);
        String port = d.substring(host.length());
        if (defaults.contains(host)) {
          domains.add(host + "." + MeshNames.NAMESPACE + port); // namespace default's, by its qualified name
          continue;
        }
        if (keyOfShort.containsKey(host)) {
          continue; // a route's hostname that is this namespace's Service's short name: the Service's, as DNS says
        }
        domains.add(d);
        String name = shortOfKey.get(host);
        if (name != null) {
          domains.add(name + port);
        }
      }
      if (!domains.equals(new LinkedHashSet<>(vh.getDomainsList()))) {
        b.setVirtualHosts(i, vh.toBuilder().clearDomains().addAllDomains(new ArrayList<>(domains)));
      }
    }
    return b.build();
  }
}
