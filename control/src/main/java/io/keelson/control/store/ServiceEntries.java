package io.keelson.control.store;

import io.keelson.control.policy.Cidr;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.xds.TcpRuleSubnets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The hosts that ServiceEntries add to the mesh, next to the registry's Services: lookups by host, each host seen as a
 * {@link Policy.Service} (its ports and protocols) so that routes, DestinationRules and port checks treat both alike,
 * and the checks of a ServiceEntry against the rest of a candidate state. Stateless.
 */
public final class ServiceEntries {
  private ServiceEntries() {}

  /** The ServiceEntry that declares {@code host}, or null. */
  public static Policy.ServiceEntry find(PolicySet state, String host) {
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      if (se.hosts().contains(host)) {
        return se;
      }
    }
    return null;
  }

  /**
   * The ServiceEntry that declares {@code host} for documents of {@code namespace}: that namespace's own, else the first
   * (a host may be declared once per namespace), or null.
   */
  public static Policy.ServiceEntry find(PolicySet state, String host, String namespace) {
    Policy.ServiceEntry first = null;
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      if (se.hosts().contains(host)) {
        if (se.meta().effectiveNamespace().equals(namespace)) {
          return se;
        }
        first = first == null ? se : first;
      }
    }
    return first;
  }

  /** Every ServiceEntry host and its entry (the first entry, in state order, when two declare it). */
  public static Map<String, Policy.ServiceEntry> byHost(PolicySet state) {
    Map<String, Policy.ServiceEntry> out = new HashMap<>();
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      se.hosts().forEach(h -> out.putIfAbsent(h, se));
    }
    return out;
  }

  /** {@code host} of {@code se} as a Service: its name the host, its ports the entry's. */
  public static Policy.Service asService(Policy.ServiceEntry se, String host) {
    Map<Integer, Policy.Protocol> protocols = new HashMap<>();
    List<Integer> ports = new ArrayList<>();
    for (Policy.EntryPort p : se.ports()) {
      ports.add(p.number());
      protocols.put(p.number(), p.protocol());
    }
    Policy.Meta m = se.meta();
    return new Policy.Service(new Policy.Meta(m.apiVersion(), m.kind(), host, m.file(), m.source(), m.namespace()),
        ports, protocols);
  }

  /** Every ServiceEntry host as a Service ({@link #asService}), entries in state order. */
  public static List<Policy.Service> asServices(PolicySet state) {
    List<Policy.Service> out = new ArrayList<>();
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      se.hosts().forEach(h -> out.add(asService(se, h)));
    }
    return out;
  }

  /** The registry's Service {@code name}, else the ServiceEntry host {@code name} as a Service, else null. */
  public static Policy.Service serviceOrHost(PolicySet state, String name) {
    return serviceOrHost(state, name, io.keelson.control.policy.ServiceNames.DEFAULT_NAMESPACE);
  }

  /** As {@link #serviceOrHost(PolicySet, String)}, an entry host as documents of {@code namespace} see it. */
  public static Policy.Service serviceOrHost(PolicySet state, String name, String namespace) {
    if (state.service(name) instanceof Policy.Service s) {
      return s;
    }
    Policy.ServiceEntry se = find(state, name, namespace);
    return se == null ? null : asService(se, name);
  }

  /**
   * A registry Service's {@code tcp}/{@code tls} rule may not send connections to a ServiceEntry host yet (its listener
   * names clusters the registry's way, and an entry's are per port).
   */
  static void checkStreamBackend(PolicySet state, Policy.Routes r, Policy.Backend b, List<PolicyError> errors,
      String file, String doc, String at) {
    if (find(state, b.service()) != null && r.services().stream().anyMatch(s -> state.service(s) != null)) {
      errors.add(new PolicyError(file, doc, at, "'" + b.service() + "' is a ServiceEntry host; a tcp or tls rule of a"
          + " registry Service cannot route to one yet (expected a registry Service)"));
    }
  }

  /**
   * {@code se}'s hosts are nobody else's (no registry Service of that name, no other ServiceEntry's), and its ports
   * share their numbers only as registry ports may: a TCP port is the only service's on its number, a TLS port shares
   * it only with TLS ports (a captured sidecar's {@code 0.0.0.0_<port>} listener tells them apart by Host or SNI).
   */
  static void check(PolicySet state, Policy.ServiceEntry se, List<PolicyError> errors) {
    String file = se.meta().file();
    String doc = se.meta().key();
    for (int i = 0; i < se.hosts().size(); i++) {
      String h = se.hosts().get(i);
      if (state.service(h) != null) {
        errors.add(new PolicyError(file, doc, "spec.hosts[" + i + "]", "host '" + h + "' is the registry's Service/" + h
            + "; expected a host the registry does not have"));
      }
      for (Policy.ServiceEntry other : state.ofType(Policy.ServiceEntry.class)) {
        if (other != se && other.hosts().contains(h) && sameNamespace(se, other)) {
          errors.add(new PolicyError(file, doc, "spec.hosts[" + i + "]", "host '" + h + "' is already declared by "
              + other.meta().key() + "; expected one ServiceEntry per host in a namespace"));
        }
      }
    }
    for (int i = 0; i < se.addresses().size(); i++) {
      String a = se.addresses().get(i);
      Cidr mine = Cidr.parse(a); // as Envoy reads it: 10.9.0.5 is 10.9.0.5/32, 10.9.0.1/24 is 10.9.0.0/24
      for (Policy.ServiceEntry other : state.ofType(Policy.ServiceEntry.class)) {
        String same = other == se ? null : other.addresses().stream().filter(o -> Cidr.parse(o).equals(mine))
            .findFirst().orElse(null);
        if (same != null) {
          errors.add(new PolicyError(file, doc, "spec.addresses[" + i + "]", "address '" + a + "' is also "
              + other.meta().key() + "'s" + (same.equals(a) ? "" : " ('" + same + "': both are " + mine + ")")
              + "; expected addresses no other ServiceEntry has"));
        }
      }
      for (Policy.Service svc : state.ofType(Policy.Service.class)) {
        if (svc.address() != null && Cidr.problem(svc.address()) == null && Cidr.parse(svc.address()).equals(mine)) {
          errors.add(new PolicyError(file, doc, "spec.addresses[" + i + "]", "address '" + a + "' is Service/"
              + svc.name() + "'s VIP; expected an address no Service has"));
        }
      }
    }
    checkSharedPrefixes(state, se, errors, se.meta(), null);
    List<Policy.Service> others = new ArrayList<>(state.ofType(Policy.Service.class));
    for (Policy.ServiceEntry other : state.ofType(Policy.ServiceEntry.class)) {
      if (other != se) { // another namespace's entry of one of its hosts is that host for other proxies, never beside it
        other.hosts().stream().filter(h -> sameNamespace(se, other) || !se.hosts().contains(h))
            .forEach(h -> others.add(asService(other, h)));
      }
    }
    for (int i = 0; i < se.ports().size(); i++) {
      Policy.EntryPort port = se.ports().get(i);
      Policy.Protocol mine = port.protocol();
      String clash = null;
      if (mine == Policy.Protocol.TCP && se.hosts().size() > 1) {
        clash = "the port of its other hosts " + se.hosts().subList(1, se.hosts().size());
      }
      for (Policy.Service other : others) {
        if (clash != null || !other.ports().contains(port.number())) {
          continue;
        }
        Policy.Protocol theirs = other.protocol(port.number());
        boolean tcp = mine == Policy.Protocol.TCP || theirs == Policy.Protocol.TCP;
        if (tcp && mine == theirs && other.kind().equals("ServiceEntry") && !se.addresses().isEmpty()
            && !find(state, other.name()).addresses().isEmpty()) {
          continue; // two TCP entries with addresses: a captured sidecar tells them apart by destination address
        }
        boolean tlsWithOther = (mine == Policy.Protocol.TLS) != (theirs == Policy.Protocol.TLS);
        boolean entry = other.kind().equals("ServiceEntry");
        boolean tlsWithRegistry = !entry && mine == Policy.Protocol.TLS; // one listener per port: the registry's or the entries'
        if (tcp || tlsWithOther || tlsWithRegistry) {
          clash = (entry ? "host " + other.name() + "'s" : "Service/" + other.name() + "'s") + " port " + port.number()
              + " (" + theirs + ")";
        }
      }
      if (clash != null) {
        errors.add(new PolicyError(file, doc, "spec.ports[" + i + "].number", "port " + port.number() + " (" + mine
            + ") is also " + clash + "; a TCP port must be the only host's on its number and a TLS port shares it only"
            + " with TLS ports (a captured sidecar tells hosts apart by Host or SNI, and TCP entries by their"
            + " addresses); expected another port number, or addresses on both TCP entries"
            + (se.hosts().size() > 1 ? ", or one host per ServiceEntry" : "")));
      }
    }
  }

  private static boolean sameNamespace(Policy.ServiceEntry a, Policy.ServiceEntry b) {
    return a.meta().effectiveNamespace().equals(b.meta().effectiveNamespace());
  }

  /**
   * On each TCP port {@code se} shares by address with another entry, no prefix its host's chains match (its
   * addresses, its {@code tcp} rules' subnets within them: {@link TcpRuleSubnets#claimed}) is also the other host's:
   * every captured sidecar would refuse the {@code 0.0.0.0_<port>} listener (Envoy takes a prefix in one chain only).
   * Reported on {@code doc} (the entry, or a VirtualService of its host being applied) at {@code at} (null: the
   * entry's port).
   */
  static void checkSharedPrefixes(PolicySet state, Policy.ServiceEntry se, List<PolicyError> errors, Policy.Meta doc,
      String at) {
    if (se.addresses().isEmpty() || se.hosts().size() != 1) {
      return; // a TCP port of several hosts is refused by check; without addresses the port is not shared
    }
    for (int i = 0; i < se.ports().size(); i++) {
      Policy.EntryPort port = se.ports().get(i);
      if (port.protocol() != Policy.Protocol.TCP) {
        continue;
      }
      Map<Cidr, String> mine = TcpRuleSubnets.claimed(state, se.hosts().getFirst(), port.number(), se.addresses(),
          "spec.addresses");
      for (Policy.ServiceEntry other : state.ofType(Policy.ServiceEntry.class)) {
        Policy.EntryPort theirs = other.port(port.number());
        if (other == se || other.addresses().isEmpty() || other.hosts().size() != 1 || theirs == null
            || theirs.protocol() != Policy.Protocol.TCP) {
          continue;
        }
        Map<Cidr, String> claimed = TcpRuleSubnets.claimed(state, other.hosts().getFirst(), port.number(),
            other.addresses(), "spec.addresses");
        for (Map.Entry<Cidr, String> e : mine.entrySet()) {
          String theirsAt = claimed.get(e.getKey());
          if (theirsAt != null && !(e.getValue().equals("spec.addresses") && theirsAt.equals("spec.addresses"))) {
            errors.add(new PolicyError(doc.file(), doc.key(), at != null ? at : "spec.ports[" + i + "].number",
                "prefix " + e.getKey() + " on port " + port.number() + " is host " + se.hosts().getFirst() + "'s ("
                + where(se, e.getValue()) + ") and host " + other.hosts().getFirst() + "'s (" + where(other, theirsAt)
                + "); a captured sidecar's 0.0.0.0_" + port.number() + " listener takes a prefix for one host only:"
                + " expected destinationSubnets and addresses that no other host on the port has"));
          }
        }
      }
    }
  }

  private static String where(Policy.ServiceEntry se, String at) {
    return at.equals("spec.addresses") ? se.meta().key() + " spec.addresses" : at;
  }
}
