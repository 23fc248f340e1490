package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which routes a Gateway's listener takes, as the Gateway API says: a route attaches to a listener when one of its
 * parentRefs names the Gateway (and, where written, the listener's {@code sectionName} and {@code port}), the
 * listener's {@code allowedRoutes.kinds} hold the route's kind (by default the kinds of the listener's protocol:
 * HTTPRoute and GRPCRoute on HTTP/HTTPS, TLSRoute on TLS (TLSRoute and TCPRoute on a TLS listener that terminates), TCPRoute on TCP) and {@code allowedRoutes.namespaces}
 * admits the route's namespace ({@code from: Same}, the default, or {@code All}; routes are not namespaced in
 * Keelson yet: they count as namespace {@code default}). An Istio Gateway's servers take
 * every route bound to them, of any kind their protocol serves. Stateless.
 */
public final class ListenerRoutes {
  private ListenerRoutes() {}

  /** True when {@code r} attaches to server {@code s} of {@code g}. */
  public static boolean attaches(Policy.Routes r, Policy.Gateway g, Policy.Server s) {
    return r.boundTo(g.ref(), s.portName(), s.port()) && refusal(r, g, s) == null;
  }

  /**
   * Why {@code r}, bound to {@code g}, is not taken by listener {@code s} (its kind or namespace), or null when it
   * is; it says nothing of whether {@code r} names that listener.
   */
  public static String refusal(Policy.Routes r, Policy.Gateway g, Policy.Server s) {
    Policy.AllowedRoutes allowed = s.allowedRoutes();
    List<String> kinds = allowed == null ? null : allowed.kinds();
    if (kinds == null || kinds.isEmpty()) {
      kinds = kindsOf(s.protocol(), s.terminatesTls());
    }
    if (!r.kind().equals("VirtualService") && !kinds.contains(r.kind())) {
      return "listener '" + s.portName() + "' (" + s.protocol() + ") takes " + kinds + ", not " + r.kind();
    }
    if (allowed != null && allowed.sameNamespace() && !namespace(r).equals(namespace(g))) {
      return "listener '" + s.portName() + "' takes routes of namespace " + namespace(g) + " only (allowedRoutes"
          + " namespaces from: Same, the default), not of " + namespace(r) + (r.namespace().isEmpty()
              ? " (Keelson keeps routes in the one mesh namespace, default)" : "")
          + "; expected allowedRoutes: {namespaces: {from: All}} on the listener";
    }
    return null;
  }

  /**
   * The route kinds a listener of {@code protocol} serves; a TLS listener that terminates serves TLSRoutes (the
   * relayed connection chosen by the ClientHello's name) and TCPRoutes, as Istio does for {@code mode: Terminate}.
   */
  static List<String> kindsOf(String protocol, boolean terminates) {
    return switch (protocol) {
      case "TLS" -> terminates ? List.of("TLSRoute", "TCPRoute") : List.of("TLSRoute");
      case "TCP" -> List.of("TCPRoute");
      default -> List.of("HTTPRoute", "GRPCRoute");
    };
  }

  private static String namespace(Policy p) {
    return p.namespace().isEmpty() ? "default" : p.namespace();
  }

  /**
   * A listener's {@code allowedRoutes} (null: the spec's default, routes of the Gateway's namespace of the protocol's
   * kinds). {@code from: Selector} is refused: Keelson holds no Namespace objects whose labels it could match.
   */
  static Policy.AllowedRoutes allowedRoutes(Fields a, String protocol, boolean terminates) {
    if (a == null) {
      return new Policy.AllowedRoutes(true, List.of());
    }
    a.allow(Set.of("namespaces", "kinds"), Map.of());
    boolean same = true;
    Fields ns = a.object("namespaces", false);
    if (ns != null) {
      ns.allow(Set.of("from", "selector"), Map.of());
      String from = ns.string("from", false);
      if (from != null) {
        switch (from) {
          case "Same" -> same = true;
          case "All" -> same = false;
          case "Selector" -> ns.error("from", "Selector is not supported: Keelson holds no Namespace objects whose"
              + " labels it could match; expected Same or All");
          default -> ns.error("from", "'" + from + "' is not a namespace selection; expected Same or All");
        }
      }
      if (ns.has("selector") && !"Selector".equals(from)) {
        ns.error("selector", "applies only with from: Selector");
      }
    }
    List<String> kinds = new ArrayList<>();
    List<String> served = protocol == null ? List.of() : kindsOf(protocol, terminates);
    for (Fields k : a.objects("kinds", false)) {
      k.allow("group", "kind");
      String group = k.string("group", false);
      if (group != null && !group.equals("gateway.networking.k8s.io")) {
        k.error("group", "'" + group + "' is not the group of Gateway API routes; expected gateway.networking.k8s.io");
      }
      String kind = k.string("kind", true);
      if (kind != null && protocol != null && !served.contains(kind)) {
        k.error("kind", "'" + kind + "' is not a route kind a " + protocol + (terminates ? " (Terminate)" : "")
            + " listener serves; expected one of "
            + served);
      } else if (kind != null) {
        kinds.add(kind);
      }
    }
    return new Policy.AllowedRoutes(same, kinds);
  }
}
