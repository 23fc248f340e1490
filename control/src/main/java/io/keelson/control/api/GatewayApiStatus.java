package io.keelson.control.api;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.GatewayHosts;
import io.keelson.control.policy.LabelSelector;
import io.keelson.control.policy.ListenerRoutes;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.ServiceEntries;
import io.keelson.control.xds.XdsServer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Gateway API {@code status} a controller would write, computed from the current state and the connected gateway
 * proxies whenever it is asked (never stored): a Gateway's {@code conditions} (Accepted, Programmed) and
 * {@code listeners[]} ({@code supportedKinds}, {@code attachedRoutes}, conditions Accepted, Conflicted, ResolvedRefs,
 * Programmed); a route's {@code parents[]} with conditions Accepted and ResolvedRefs. Condition types and reasons are
 * the Gateway API's; {@code observedGeneration} and {@code lastTransitionTime} are left out (nothing is stored).
 * A valid listener is Programmed on a connected gateway proxy whose labels its selector matches when what the proxy
 * was last pushed serves it: a listener on its port; for a listener with a certificate, its filter chain
 * ({@code ns/name/index}); for a plaintext HTTP listener, the route configuration {@code http.PORT} with a virtual
 * host for every hostname an attached route shares with the listener. The Gateway is Programmed when some proxy
 * serves one of its valid listeners. Stateless.
 */
final class GatewayApiStatus {
  static final String CONTROLLER = "keelson.io/gateway-controller";
  private static final String GROUP = "gateway.networking.k8s.io";

  private GatewayApiStatus() {}

  /** The status of {@code p}, or null when it is not a Gateway API Gateway or route. */
  static Map<String, Object> of(Policy p, PolicySet state, List<XdsServer.PushedGateway> proxies) {
    if (p instanceof Policy.Gateway g && g.meta().apiVersion().startsWith(GROUP + "/")) {
      return gateway(g, state, proxies);
    }
    if (p instanceof Policy.Routes r && !r.kind().equals("VirtualService")) {
      return route(r, state);
    }
    return null;
  }

  private static Map<String, Object> gateway(Policy.Gateway g, PolicySet state, List<XdsServer.PushedGateway> proxies) {
    List<XdsServer.PushedGateway> serving = proxies.stream()
        .filter(x -> !g.selector().isEmpty() && LabelSelector.includes(g.selector(), x.labels())).toList();
    List<Object> listeners = new ArrayList<>();
    int valid = 0;
    List<String> programmedOn = new ArrayList<>();
    for (Policy.Server s : g.servers()) {
      String conflict = conflict(g, s, state);
      Map<String, Object> refs = resolvedRefs(g, s, state);
      boolean ok = conflict == null && "True".equals(refs.get("status"));
      valid += ok ? 1 : 0;
      List<String> on = !ok ? List.of() : serving.stream().filter(x -> serves(x, g, s, state))
          .map(XdsServer.PushedGateway::nodeId).toList();
      on.stream().filter(n -> !programmedOn.contains(n)).forEach(programmedOn::add);
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("name", s.portName());
      l.put("supportedKinds", ListenerRoutes.supportedKinds(s).stream().map(k -> Map.of("group", GROUP, "kind", k)).toList());
      l.put("attachedRoutes", attached(g, s, state));
      l.put("conditions", List.of(
          conflict == null ? condition("Accepted", true, "Accepted", "listener " + s.portName() + " (" + s.protocol()
              + " on port " + s.port() + ") is valid")
              : condition("Accepted", false, "PortUnavailable", conflict),
          conflict == null ? condition("Conflicted", false, "NoConflicts", "no other listener of its proxies claims its"
              + " port and hostname") : condition("Conflicted", true, conflict.contains("protocol") ? "ProtocolConflict"
                  : "HostnameConflict", conflict),
          refs,
          !ok ? condition("Programmed", false, "Invalid", "the listener is not valid (see its other conditions)")
              : on.isEmpty() ? condition("Programmed", false, "Pending", pending(g, serving))
              : condition("Programmed", true, "Programmed", "served by gateway proxies " + on)));
      listeners.add(l);
    }
    int total = g.servers().size();
    Map<String, Object> accepted = valid == total
        ? condition("Accepted", true, "Accepted", "the Gateway and its " + total + " listener(s) are valid")
        : condition("Accepted", valid > 0, "ListenersNotValid", (total - valid) + " of " + total
            + " listener(s) are not valid (see their conditions)");
    Map<String, Object> programmed = valid == 0
        ? condition("Programmed", false, "Invalid", "no listener is valid")
        : !programmedOn.isEmpty() ? condition("Programmed", true, "Programmed", "translated for gateway proxies "
            + programmedOn)
        : serving.isEmpty() ? condition("Programmed", false, "Pending", pending(g, serving))
        : condition("Programmed", false, "Invalid", "connected gateway proxies " + serving.stream()
            .map(XdsServer.PushedGateway::nodeId).toList() + " serve none of its listeners (bin/keelson status shows why)");
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("conditions", List.of(accepted, programmed));
    out.put("listeners", listeners);
    return out;
  }

  private static String pending(Policy.Gateway g, List<XdsServer.PushedGateway> serving) {
    return serving.isEmpty() ? "no gateway proxy labelled " + g.selector() + " is connected (start one with bin/keelson"
        + " proxy --gateway --labels " + g.selector().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .reduce((a, b) -> a + "," + b).orElse("") + ")"
        : "connected gateway proxies " + serving.stream().map(XdsServer.PushedGateway::nodeId).toList() + " hold no listener or"
            + " filter chain for it (bin/keelson status says why, e.g. a gateway on the plaintext xDS port gets no"
            + " certificates)";
  }

  /**
   * True when {@code x} was pushed a listener on {@code s}'s port and, for a listener with a certificate, its chain;
   * for a plaintext HTTP listener, route configuration {@code http.PORT} with a virtual host for every hostname a route
   * attached to {@code s} shares with it (as {@code GatewayTranslator} names them, {@code host:port}).
   */
  private static boolean serves(XdsServer.PushedGateway x, Policy.Gateway g, Policy.Server s, PolicySet state) {
    String chain = g.ref() + "/" + s.index();
    boolean certificate = s.tls() != null && s.tls().credentialName() != null;
    boolean listens = x.listeners().stream().anyMatch(l -> l.getAddress().getSocketAddress().getPortValue() == s.port()
        && (!certificate || l.getFilterChainsList().stream().anyMatch(c -> c.getName().equals(chain))));
    if (!listens || certificate || !s.portProtocol().equals("HTTP")) {
      return listens;
    }
    RouteConfiguration rc = x.routes().stream().filter(r -> r.getName().equals("http." + s.port())).findFirst()
        .orElse(null);
    if (rc == null) {
      return false;
    }
    Set<String> virtualHosts = rc.getVirtualHostsList().stream().map(VirtualHost::getName).collect(Collectors.toSet());
    for (Policy.Routes r : state.ofType(Policy.Routes.class)) {
      if (r.kind().equals("VirtualService") || !ListenerRoutes.attaches(r, g, s, state::namespaceLabels)) {
        continue;
      }
      for (String routeHost : r.gatewayHosts()) {
        for (String listenerHost : s.hosts()) {
          String host = GatewayHosts.intersection(listenerHost, routeHost);
          if (host != null && !virtualHosts.contains(host + ":" + s.port())) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** Why {@code s} conflicts with another listener of the proxies {@code g} selects, or null. */
  private static String conflict(Policy.Gateway g, Policy.Server s, PolicySet state) {
    for (Policy.Gateway other : state.ofType(Policy.Gateway.class)) {
      if (!other.selector().equals(g.selector())) {
        continue;
      }
      for (Policy.Server o : other.servers()) {
        if ((other == g && o.index() == s.index()) || o.port() != s.port()) {
          continue;
        }
        String where = other == g ? "listener " + o.portName() : "Gateway " + other.ref() + " listener " + o.portName();
        if (!Policy.Server.sharePort(o.portProtocol(), s.portProtocol())) {
          return "port " + s.port() + " is " + s.protocol() + " here and " + o.protocol() + " in " + where
              + " (a protocol conflict)";
        }
        boolean terminates = (s.https() || s.terminatesTls()) && (o.https() || o.terminatesTls());
        List<String> shared = s.hosts().stream().filter(o.hosts()::contains).toList();
        if (terminates && !shared.isEmpty()) {
          return "hostname " + shared.getFirst() + " on port " + s.port() + " is also served by " + where;
        }
      }
    }
    return null;
  }

  /**
   * ResolvedRefs: in another namespace, a ReferenceGrant permits the listener's certificate Secret (checked first, so
   * the status never reveals whether a Secret the Gateway may not read exists), and the Secret exists.
   */
  private static Map<String, Object> resolvedRefs(Policy.Gateway g, Policy.Server s, PolicySet state) {
    String credential = s.tls() == null ? null : s.tls().credentialName();
    if (credential != null) {
      int slash = credential.indexOf('/');
      if (slash > 0) {
        var ref = new Policy.CrossReference("", "", "Secret", credential.substring(0, slash),
            credential.substring(slash + 1));
        if (state.ofType(Policy.ReferenceGrant.class).stream().noneMatch(rg -> rg.permits("Gateway", g.namespace(),
            ref))) {
          return condition("ResolvedRefs", false, "RefNotPermitted", "no ReferenceGrant in namespace "
              + ref.namespace() + " permits Gateways of " + g.namespace() + " to Secret " + credential);
        }
      }
      if (state.secret(g.namespace(), credential) == null) {
        return condition("ResolvedRefs", false, "InvalidCertificateRef", "no Secret " + (slash > 0 ? credential
            : g.namespace() + "/" + credential) + " (type kubernetes.io/tls)");
      }
    }
    return condition("ResolvedRefs", true, "ResolvedRefs", credential == null ? "no references to resolve"
        : "certificate Secret " + credential + " resolved");
  }

  private static int attached(Policy.Gateway g, Policy.Server s, PolicySet state) {
    int n = 0;
    for (Policy.Routes r : state.ofType(Policy.Routes.class)) {
      if (!r.kind().equals("VirtualService") && ListenerRoutes.attaches(r, g, s, state::namespaceLabels)) {
        n++;
      }
    }
    return n;
  }

  private static Map<String, Object> route(Policy.Routes r, PolicySet state) {
    Map<String, Object> refs = backendRefs(r, state);
    List<Object> parents = new ArrayList<>();
    for (String parent : r.gateways()) {
      if (parent.equals(Policy.Routes.MESH)) {
        continue;
      }
      String[] parts = parent.split("/", 3);
      String gatewayRef = parts[0] + "/" + parts[1];
      Map<String, Object> parentRef = new LinkedHashMap<>();
      parentRef.put("group", GROUP);
      parentRef.put("kind", "Gateway");
      parentRef.put("namespace", parts[0]);
      parentRef.put("name", parts[1]);
      String listener = parts.length > 2 ? parts[2] : "";
      int colon = listener.indexOf(':');
      String section = colon < 0 ? listener : listener.substring(0, colon);
      if (!section.isEmpty()) {
        parentRef.put("sectionName", section);
      }
      if (colon >= 0) {
        parentRef.put("port", Integer.parseInt(listener.substring(colon + 1)));
      }
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("parentRef", parentRef);
      p.put("controllerName", CONTROLLER);
      p.put("conditions", List.of(accepted(r, parent, gatewayRef, state), refs));
      parents.add(p);
    }
    return Map.of("parents", parents);
  }

  private static Map<String, Object> accepted(Policy.Routes r, String parent, String gatewayRef, PolicySet state) {
    Policy.Gateway g = state.ofType(Policy.Gateway.class).stream().filter(x -> x.ref().equals(gatewayRef)).findFirst()
        .orElse(null);
    if (g == null) {
      return condition("Accepted", false, "NoMatchingParent", "no Gateway " + gatewayRef);
    }
    List<Policy.Server> named = g.servers().stream()
        .filter(s -> Policy.Routes.names(parent, gatewayRef, s.portName(), s.port())).toList();
    if (named.isEmpty()) {
      return condition("Accepted", false, "NoMatchingParent", "Gateway " + gatewayRef + " has no listener"
          + (parent.equals(gatewayRef) ? "" : " " + parent.substring(gatewayRef.length() + 1)) + "; its listeners: "
          + g.servers().stream().map(s -> s.portName() + ":" + s.port()).toList());
    }
    List<String> taken = new ArrayList<>();
    List<String> refusals = new ArrayList<>();
    for (Policy.Server s : named) {
      String refusal = ListenerRoutes.refusal(r, g, s, state::namespaceLabels);
      if (refusal == null) {
        taken.add(s.portName());
      } else if (!refusals.contains(refusal)) {
        refusals.add(refusal);
      }
    }
    return taken.isEmpty() ? condition("Accepted", false, "NotAllowedByListeners", String.join("; ", refusals))
        : condition("Accepted", true, "Accepted", "attached to listener(s) " + taken + " of Gateway " + gatewayRef);
  }

  /** ResolvedRefs over every backendRef (and mirror) of the route: each names a Service (or ServiceEntry host) port. */
  private static Map<String, Object> backendRefs(Policy.Routes r, PolicySet state) {
    List<Policy.Backend> backends = new ArrayList<>();
    r.rules().forEach(rule -> {
      backends.addAll(rule.backends());
      rule.mirrors().forEach(m -> backends.add(m.backend()));
    });
    r.streams().forEach(s -> backends.addAll(s.backends()));
    for (Policy.Backend b : backends) {
      Policy.Service svc = ServiceEntries.serviceOrHost(state, b.service());
      if (svc == null) {
        return condition("ResolvedRefs", false, "BackendNotFound", "no Service " + b.service());
      }
      if (b.port() != 0 && !svc.ports().contains(b.port())) {
        return condition("ResolvedRefs", false, "BackendNotFound", "Service " + b.service() + " has no port "
            + b.port() + "; its ports: " + svc.ports());
      }
    }
    return condition("ResolvedRefs", true, "ResolvedRefs", "all " + backends.size() + " backendRef(s) resolved");
  }

  private static Map<String, Object> condition(String type, boolean status, String reason, String message) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("type", type);
    c.put("status", status ? "True" : "False");
    c.put("reason", reason);
    c.put("message", message);
    return c;
  }
}
