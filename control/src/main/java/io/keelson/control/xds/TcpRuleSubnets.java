package io.keelson.control.xds;

import io.keelson.control.policy.Cidr;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which destination prefixes a host's {@code tcp} rules take on a captured sidecar's {@code 0.0.0.0_<port>}
 * listener, as istiod builds them: the rules in order up to the first that takes every address ({@code break
 * TcpLoop}: later rules never apply), each rule's {@code destinationSubnets} limited to the host's own addresses when
 * hosts share the listener by address (istiod puts these chains in the host's own {@code <address>_<port>} listener,
 * so a subnet sees only traffic to the host). One answer for the translation ({@link StreamListeners}) and the store's
 * check that no two hosts claim one prefix on a port (Envoy refuses the listener). Stateless.
 */
public final class TcpRuleSubnets {
  private TcpRuleSubnets() {}

  /** A {@code tcp} rule and the document it is in. */
  record Placed(Policy.Routes routes, Policy.StreamRule rule) {}

  /**
   * {@code host}'s {@code tcp} rules that a sidecar applies on {@code port}, in order, up to and including the first
   * without {@code destinationSubnets} (the one for every other address of the host).
   */
  static List<Placed> rules(PolicySet state, String host, int port) {
    List<Placed> out = new ArrayList<>();
    for (Policy.Routes r : MeshTranslator.routesOf(state, host)) {
      for (Policy.StreamRule rule : r.streams()) {
        if (rule.protocol() == Policy.Protocol.TCP && (rule.port() == null || rule.port() == port)
            && rule.appliesOn(Policy.Routes.MESH)) {
          out.add(new Placed(r, rule));
          if (rule.destinationSubnets().isEmpty()) {
            return out;
          }
        }
      }
    }
    return out;
  }

  /** The prefixes of {@code subnets} within {@code own} (their intersections), or all of them when own is null. */
  static List<Cidr> within(List<String> subnets, List<Cidr> own) {
    List<Cidr> out = new ArrayList<>();
    for (String s : subnets) {
      Cidr subnet = Cidr.parse(s);
      if (own == null) {
        out.add(subnet);
      } else {
        own.stream().map(subnet::intersection).filter(c -> c != null && !out.contains(c)).forEach(out::add);
      }
    }
    return out;
  }

  /**
   * Every prefix {@code host}'s chains match on a listener shared by address, with where it comes from ("spec.addresses"
   * of its entry, or a rule's "VirtualService/name spec.tcp[i].match.destinationSubnets"): its {@code addresses}, and
   * its rules' subnets within them.
   */
  public static Map<Cidr, String> claimed(PolicySet state, String host, int port, List<String> addresses,
      String addressesAt) {
    List<Cidr> own = addresses.stream().map(Cidr::parse).distinct().toList();
    Map<Cidr, String> out = new LinkedHashMap<>();
    for (Placed p : rules(state, host, port)) {
      within(p.rule().destinationSubnets(), own).forEach(c -> out.putIfAbsent(c, p.routes().meta().key() + " "
          + p.rule().field() + ".match.destinationSubnets"));
    }
    own.forEach(c -> out.putIfAbsent(c, addressesAt));
    return out;
  }
}
