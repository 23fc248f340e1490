package io.keelson.control.xds;

import io.keelson.control.policy.ExportTo;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code exportTo} resolved for the proxies of one client namespace, as istiod's push context does
 * ({@code IsServiceVisible}, its virtual service and destination rule indexes): a registry Service or ServiceEntry not
 * exported to the namespace is not in its {@link #view} (no cluster, virtual host, listener, name table entry or VIP),
 * nor is a VirtualService or DestinationRule not exported to it (they do not apply to its proxies). A ServiceEntry host
 * declared in several namespaces is the client namespace's entry's, else the first visible entry's by key (istiod puts
 * the namespace's own services first). {@link #signature} names what a namespace does not see: namespaces of one
 * signature see one view, so translations stay shared per signature; a state where every namespace sees everything has
 * the empty signature everywhere. Delegate VirtualServices (without hosts) and Gateway API routes are not filtered.
 * Stateless.
 */
public final class ExportVisibility {
  /**
   * Istio's meshConfig {@code defaultServiceExportTo}, {@code defaultVirtualServiceExportTo} and
   * {@code defaultDestinationRuleExportTo}: the exportTo of documents that set none.
   */
  public record Defaults(List<String> services, List<String> virtualServices, List<String> destinationRules) {
    public static final Defaults PUBLIC = new Defaults(List.of(ExportTo.PUBLIC), List.of(ExportTo.PUBLIC),
        List.of(ExportTo.PUBLIC));

    public Defaults {
      services = services.isEmpty() ? List.of(ExportTo.PUBLIC) : List.copyOf(services);
      virtualServices = virtualServices.isEmpty() ? List.of(ExportTo.PUBLIC) : List.copyOf(virtualServices);
      destinationRules = destinationRules.isEmpty() ? List.of(ExportTo.PUBLIC) : List.copyOf(destinationRules);
    }
  }

  private ExportVisibility() {}

  /** True when some namespace may not see some document of {@code state} (else every signature is empty). */
  static boolean limits(PolicySet state, Defaults d) {
    for (Policy p : state.all()) {
      List<String> defaults = defaults(p, d);
      if (defaults != null && !ExportTo.everywhere(p.meta().exportTo(), defaults)) {
        return true;
      }
    }
    Map<String, String> hosts = new HashMap<>();
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      for (String h : se.hosts()) {
        if (hosts.putIfAbsent(h, se.meta().key()) != null) {
          return true; // a host of two namespaces' entries
        }
      }
    }
    return false;
  }

  /** What proxies of {@code client} do not see of {@code state}: "" when they see it all. */
  static String signature(PolicySet state, String client, Defaults d) {
    Hidden h = hidden(state, client, d);
    StringBuilder sig = new StringBuilder();
    h.dropped.forEach(p -> sig.append(p.meta().key()).append(';'));
    h.narrowed.forEach(se -> sig.append(se.meta().key()).append(se.hosts()).append(';'));
    return sig.toString();
  }

  /** {@code state} as proxies of {@code client} see it; {@code state} itself when they see it all. */
  static PolicySet view(PolicySet state, String client, Defaults d) {
    Hidden h = hidden(state, client, d);
    if (h.dropped.isEmpty() && h.narrowed.isEmpty()) {
      return state;
    }
    java.util.Set<String> dropped = new java.util.HashSet<>();
    h.dropped.forEach(p -> dropped.add(p.meta().key()));
    PolicySet out = state.without(p -> dropped.contains(p.meta().key()));
    return h.narrowed.isEmpty() ? out : out.with(List.<Policy>copyOf(h.narrowed));
  }

  /** The documents {@code client} does not see, and the ServiceEntries it sees only some hosts of (narrowed). */
  private record Hidden(List<Policy> dropped, List<Policy.ServiceEntry> narrowed) {}

  private static Hidden hidden(PolicySet state, String client, Defaults d) {
    List<Policy> dropped = new ArrayList<>();
    List<Policy.ServiceEntry> entries = new ArrayList<>();
    for (Policy p : state.all()) {
      List<String> defaults = defaults(p, d);
      if (defaults != null && !ExportTo.visible(p.meta().exportTo(), defaults, namespace(p), client)) {
        dropped.add(p);
      } else if (p instanceof Policy.ServiceEntry se) {
        entries.add(se);
      }
    }
    List<Policy.ServiceEntry> narrowed = new ArrayList<>();
    Map<String, Policy.ServiceEntry> owner = owners(entries, client);
    for (Policy.ServiceEntry se : entries) {
      List<String> kept = se.hosts().stream().filter(host -> owner.get(host) == se).toList();
      if (kept.isEmpty()) {
        dropped.add(se);
      } else if (kept.size() < se.hosts().size()) {
        narrowed.add(se.withHosts(kept));
      }
    }
    return new Hidden(dropped, narrowed);
  }

  /** Per host, the visible entry that declares it for {@code client}: its own namespace's, else the first by key. */
  private static Map<String, Policy.ServiceEntry> owners(List<Policy.ServiceEntry> entries, String client) {
    Map<String, Policy.ServiceEntry> owner = new HashMap<>();
    for (Policy.ServiceEntry se : entries) {
      for (String h : se.hosts()) {
        Policy.ServiceEntry first = owner.get(h);
        if (first == null || (!namespace(first).equals(client) && namespace(se).equals(client))) {
          owner.put(h, se);
        }
      }
    }
    return owner;
  }

  /** The defaults of {@code p}'s kind, or null when {@code p} is not filtered by exportTo. */
  private static List<String> defaults(Policy p, Defaults d) {
    return switch (p) {
      case Policy.Service s -> d.services();
      case Policy.ServiceEntry se -> d.services();
      case Policy.DestinationRule dr -> d.destinationRules(); // a step of its own: DR lookup per client is elsewhere
      case Policy.Routes r when r.kind().equals("VirtualService") && !r.services().isEmpty() -> d.virtualServices();
      default -> null;
    };
  }

  private static String namespace(Policy p) {
    return p.meta().effectiveNamespace();
  }
}
