package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Which routes a Gateway's listener takes, as the Gateway API says: a route attaches to a listener when one of its
 * parentRefs names the Gateway (and, where written, the listener's {@code sectionName} and {@code port}), the
 * listener's {@code allowedRoutes.kinds} hold the route's kind (by default the kinds of the listener's protocol:
 * HTTPRoute and GRPCRoute on HTTP/HTTPS, TLSRoute on TLS (TLSRoute and TCPRoute on a TLS listener that terminates), TCPRoute on TCP) and {@code allowedRoutes.namespaces}
 * admits the route's namespace ({@code from: Same}, the default, {@code All}, or {@code Selector}: the labels of the
 * route namespace's {@link Policy.Namespace} document match the selector's {@code matchLabels} and
 * {@code matchExpressions}; routes are not
 * namespaced in Keelson yet: they count as namespace {@code default}). An Istio Gateway's servers take
 * every route bound to them, of any kind their protocol serves. Stateless.
 */
public final class ListenerRoutes {
  private ListenerRoutes() {}

  /**
   * True when {@code r} attaches to server {@code s} of {@code g}.
   *
   * @param namespaceLabels a namespace's labels (for {@code from: Selector}): its {@link Policy.Namespace} document's
   *        and {@code kubernetes.io/metadata.name} ({@code PolicySet#namespaceLabels})
   */
  public static boolean attaches(Policy.Routes r, Policy.Gateway g, Policy.Server s,
      Function<String, Map<String, String>> namespaceLabels) {
    return r.boundTo(g.ref(), s.portName(), s.port()) && refusal(r, g, s, namespaceLabels) == null;
  }

  /**
   * Why {@code r}, bound to {@code g}, is not taken by listener {@code s} (its kind or namespace), or null when it
   * is; it says nothing of whether {@code r} names that listener.
   */
  public static String refusal(Policy.Routes r, Policy.Gateway g, Policy.Server s,
      Function<String, Map<String, String>> namespaceLabels) {
    Policy.AllowedRoutes allowed = s.allowedRoutes();
    List<String> kinds = supportedKinds(s);
    if (!r.kind().equals("VirtualService") && !kinds.contains(r.kind())) {
      return "listener '" + s.portName() + "' (" + s.protocol() + ") takes " + kinds + ", not " + r.kind();
    }
    if (allowed != null && allowed.sameNamespace() && !namespace(r).equals(namespace(g))) {
      return "listener '" + s.portName() + "' takes routes of namespace " + namespace(g) + " only (allowedRoutes"
          + " namespaces from: Same, the default), not of " + namespace(r)
          + "; expected allowedRoutes: {namespaces: {from: All}} on the listener";
    }
    if (allowed != null && allowed.namespaceSelector() != null) {
      Map<String, String> labels = namespaceLabels.apply(namespace(r));
      if (!allowed.namespaceSelector().matches(labels)) {
        return "listener '" + s.portName() + "' takes routes of namespaces labelled " + allowed.namespaceSelector()
            + " only (allowedRoutes namespaces from: Selector), and namespace "
            + namespace(r) + (labels.size() == 1 ? " has only " + labels + " (no Namespace document, apiVersion: v1,"
                + " kind: Namespace, gives it labels)" : " is labelled " + new TreeMap<>(labels))
            + "; expected the labels on a Namespace document of that name";
      }
    }
    return null;
  }

  /** The route kinds listener {@code s} takes: its {@code allowedRoutes.kinds}, else those of its protocol. */
  public static List<String> supportedKinds(Policy.Server s) {
    Policy.AllowedRoutes allowed = s.allowedRoutes();
    return allowed == null || allowed.kinds().isEmpty() ? kindsOf(s.protocol(), s.terminatesTls()) : allowed.kinds();
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
   * kinds). {@code from: Selector} takes a {@link LabelSelector}, matched against the labels of {@link Policy.Namespace}
   * documents.
   */
  static Policy.AllowedRoutes allowedRoutes(Fields a, String protocol, boolean terminates) {
    if (a == null) {
      return new Policy.AllowedRoutes(true, List.of());
    }
    a.allow(Set.of("namespaces", "kinds"), Map.of());
    boolean same = true;
    LabelSelector selector = null;
    Fields ns = a.object("namespaces", false);
    if (ns != null) {
      ns.allow(Set.of("from", "selector"), Map.of());
      String from = ns.string("from", false);
      if (from != null) {
        switch (from) {
          case "Same" -> same = true;
          case "All" -> same = false;
          case "Selector" -> {
            same = false;
            selector = selector(ns);
          }
          default -> ns.error("from", "'" + from + "' is not a namespace selection; expected Same, All or Selector");
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
    return new Policy.AllowedRoutes(same, kinds, selector);
  }

  /** {@code from: Selector}'s {@code selector}: {@code matchLabels} and/or {@code matchExpressions}, at least one. */
  private static LabelSelector selector(Fields ns) {
    Fields sel = ns.object("selector", false);
    if (sel == null) {
      ns.error("selector", "is required with from: Selector; expected {matchLabels: {LABEL: VALUE}}");
      return LabelSelector.of(Map.of());
    }
    LabelSelector selector = LabelSelector.parse(sel);
    if (selector.matchLabels().isEmpty() && selector.matchExpressions().isEmpty()) {
      sel.error("matchLabels", "is required (or matchExpressions); expected the labels of the routes' Namespace"
          + " documents (apiVersion: v1, kind: Namespace, metadata.labels)");
    }
    return selector;
  }
}
