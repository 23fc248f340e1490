package io.keelson.control.store;

import io.keelson.control.policy.ListenerRoutes;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.List;

/**
 * Cross-document checks for ingress gateways: the Gateways a VirtualService or route names exist (an error, where
 * Istio only warns: a typo would otherwise expose nothing, silently), and a Gateway API route's parentRef names a
 * listener ({@code sectionName}, {@code port}) whose {@code allowedRoutes} take it ({@code ListenerRoutes}); an HTTPS server's {@code credentialName} is a Secret of
 * the Gateway's namespace (MUTUAL: with {@code ca.crt}); Gateways that can select the same proxy (selectors that do
 * not disagree on a label) do not bind one port to two protocols or repeat an HTTPS host of a port, nor a host of a
 * terminating {@code protocol: TLS} server (SIMPLE, MUTUAL, ISTIO_MUTUAL) in another TLS server of its port (each
 * terminating server is a filter chain selected by its hosts). Stateless.
 */
final class GatewayReferences {
  private GatewayReferences() {}

  static void boundGateways(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    boolean istio = r.kind().equals("VirtualService");
    for (int i = 0; i < r.gateways().size(); i++) {
      String ref = r.gateways().get(i);
      if (ref.equals(Policy.Routes.MESH)) {
        continue;
      }
      String[] parts = ref.split("/", 3);
      String gatewayRef = parts[0] + "/" + parts[1];
      Policy.Gateway g = gateway(state, gatewayRef);
      String at = istio ? "spec.gateways[" + i + "]" : "spec.parentRefs";
      if (g == null) {
        errors.add(new PolicyError(r.meta().file(), r.meta().key(), at, "no Gateway '" + gatewayRef + "'; expected "
            + (istio ? "mesh or " : "") + "the NAMESPACE/NAME of an applied Gateway, known: "
            + state.ofType(Policy.Gateway.class).stream().map(Policy.Gateway::ref).sorted().toList()));
        continue;
      }
      String listener = parts.length > 2 ? parts[2] : "";
      int colon = listener.indexOf(':');
      String section = colon < 0 ? listener : listener.substring(0, colon);
      List<Policy.Server> named = g.servers().stream()
          .filter(s -> Policy.Routes.names(ref, gatewayRef, s.portName(), s.port())).toList();
      if (!section.isEmpty() && g.servers().stream().noneMatch(s -> section.equals(s.portName()))) {
        errors.add(new PolicyError(r.meta().file(), r.meta().key(), at + ".sectionName", "Gateway " + gatewayRef
            + " has no listener '" + section + "'; expected one of "
            + g.servers().stream().map(Policy.Server::portName).toList()));
      } else if (named.isEmpty()) {
        errors.add(new PolicyError(r.meta().file(), r.meta().key(), at + ".port", "Gateway " + gatewayRef
            + " has no listener " + (section.isEmpty() ? "" : "'" + section + "' ") + "on port "
            + listener.substring(colon + 1) + "; its listeners: " + g.servers().stream()
                .map(s -> s.portName() + ":" + s.port()).toList()));
      } else if (!istio && named.stream().noneMatch(s -> ListenerRoutes.refusal(r, g, s, state::namespaceLabels) == null)) {
        errors.add(new PolicyError(r.meta().file(), r.meta().key(), at, "Gateway " + gatewayRef + " takes no "
            + r.kind() + " " + r.meta().key() + ": " + named.stream().map(s -> ListenerRoutes.refusal(r, g, s, state::namespaceLabels))
                .distinct().collect(java.util.stream.Collectors.joining("; "))));
      }
    }
  }

  static Policy.Gateway gateway(PolicySet state, String ref) {
    for (Policy.Gateway g : state.ofType(Policy.Gateway.class)) {
      if (g.ref().equals(ref)) {
        return g;
      }
    }
    return null;
  }

  static void gateway(PolicySet state, Policy.Gateway g, List<PolicyError> errors) {
    String file = g.meta().file();
    String doc = g.meta().key();
    boolean istio = g.meta().apiVersion().startsWith("networking.istio.io/");
    for (Policy.Server s : g.servers()) {
      String at = (istio ? "spec.servers[" : "spec.listeners[") + s.index() + "]";
      String credential = istio ? at + ".tls.credentialName" : at + ".tls.certificateRefs[0].name";
      if (s.tls() != null && s.tls().credentialName() != null) {
        Policy.Secret secret = state.secret(g.namespace(), s.tls().credentialName());
        if (secret == null) {
          errors.add(new PolicyError(file, doc, credential, "Gateway " + g.ref() + " server "
              + s.index() + ": no Secret '" + s.tls().credentialName() + "' in namespace " + g.namespace()
              + "; expected a Secret (apiVersion: v1, type: kubernetes.io/tls) with tls.crt and tls.key"));
        } else if (secret.certChain() == null) {
          errors.add(new PolicyError(file, doc, credential, "Gateway " + g.ref() + " server "
              + s.index() + ": Secret '" + s.tls().credentialName() + "' holds a CA only; expected a Secret with"
              + " tls.crt and tls.key (the gateway's certificate)"));
        } else if ("MUTUAL".equals(s.tls().mode()) && secret.caCert() == null) {
          errors.add(new PolicyError(file, doc, credential, "Gateway " + g.ref() + " server "
              + s.index() + ": mode MUTUAL needs the client CA in Secret '" + s.tls().credentialName()
              + "' (data ca.crt), which it does not have"));
        }
      }
      for (Policy.Gateway other : state.ofType(Policy.Gateway.class)) {
        if (!overlap(other.selector(), g.selector())) {
          continue;
        }
        for (Policy.Server o : other.servers()) {
          if (o == s || o.port() != s.port()) {
            continue;
          }
          String where = other == g ? "server " + o.index() + " of this Gateway"
              : "Gateway " + other.ref() + ", which selects the same proxies";
          if (other != g && !Policy.Server.sharePort(o.portProtocol(), s.portProtocol())) {
            errors.add(new PolicyError(file, doc, at + ".port", "port " + s.port() + " is " + s.protocol() + " here and "
                + o.protocol() + " in " + where + "; expected one protocol per port"));
          } else if (s.https() && o.https()) {
            httpsNeighbours(file, doc, at, s, o, where, errors);
          } else if (s.terminatesTls() || o.terminatesTls() || s.https() != o.https()) {
            tlsNeighbours(file, doc, at, s, o, where, errors);
          }
        }
      }
    }
  }

  /**
   * Two TLS servers on one port of the same proxies, one of them terminating (HTTPS, or TLS SIMPLE/MUTUAL): each
   * terminating server is a filter chain selected by its hosts (istiod's), so a host may not be in both (Envoy refuses two chains with the same
   * match, and a name would reach the other server's backend with the wrong certificate); a passthrough server's host
   * is matched by its routes' SNI, which must then differ from the terminating server's hosts.
   */
  private static void tlsNeighbours(String file, String doc, String at, Policy.Server s, Policy.Server o,
      String where, List<PolicyError> errors) {
    List<String> shared = s.hosts().stream().filter(o.hosts()::contains).toList();
    if (!shared.isEmpty()) {
      boolean sTerm = s.terminatesTls() || s.https();
      boolean oTerm = o.terminatesTls() || o.https();
      Policy.Server t = sTerm ? s : o;
      String which = sTerm && oTerm ? "both terminate"
          : (t == s ? "this server" : "that server") + " terminates";
      errors.add(new PolicyError(file, doc, at + ".hosts", "host " + shared.getFirst() + " on port " + s.port()
          + " is also a host of " + where + ", and " + which + " TLS (tls.mode " + t.tls().mode() + ", a filter"
          + " chain selected by its hosts); expected each host of a"
          + " port's terminating TLS servers in one TLS server"));
    }
  }

  /**
   * Two HTTPS servers on one port of the same proxies: their hosts may not overlap (each becomes a filter chain's
   * server_names, and Envoy refuses two chains with the same match). SIMPLE and MUTUAL servers may share a port:
   * each chain runs its own connection manager and route config, so a client naming one server's SNI reaches only
   * that server's hosts.
   */
  private static void httpsNeighbours(String file, String doc, String at, Policy.Server s, Policy.Server o,
      String where, List<PolicyError> errors) {
    List<String> shared = s.hosts().stream().filter(o.hosts()::contains).toList();
    if (!shared.isEmpty()) {
      errors.add(new PolicyError(file, doc, at + ".hosts", "host " + shared.getFirst() + " on port " + s.port()
          + " is also an HTTPS host of " + where + "; expected each HTTPS host of a port in one server"));
    }
  }

  /**
   * Whether some proxy can be selected by both: selectors (non-empty: an empty one selects nothing) overlap unless they
   * want different values for one label; a proxy with the labels of both is then selected by both.
   */
  private static boolean overlap(java.util.Map<String, String> a, java.util.Map<String, String> b) {
    return !a.isEmpty() && !b.isEmpty()
        && a.entrySet().stream().allMatch(e -> !b.containsKey(e.getKey()) || b.get(e.getKey()).equals(e.getValue()));
  }
}
