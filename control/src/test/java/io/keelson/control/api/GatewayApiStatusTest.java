package io.keelson.control.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.xds.XdsServer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Gateway API conditions of states the store refuses at apply (a missing Secret or backend, a route no listener
 * takes, conflicting listeners), as a state loaded from elsewhere would show them: documents parsed and put in a
 * {@link PolicySet} directly.
 */
class GatewayApiStatusTest {
  private static final String GATEWAYS = gateways();

  private static String gateways() {
    try {
      var cert = new io.keelson.dataplane.testing.TestCa("status-ca").issue("b.example.com", "b.example.com");
      java.util.function.Function<String, String> b64 = pem -> java.util.Base64.getEncoder().encodeToString(
          pem.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: v1
      kind: Secret
      metadata: { name: other-cert, namespace: certs }
      type: kubernetes.io/tls
      data: { tls.crt: %s, tls.key: %s }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: edge, namespace: edge }
      spec:
        gatewayClassName: keelson
        listeners:
        - { name: http, port: 8080, protocol: HTTP }
        - name: missing
          port: 8443
          protocol: HTTPS
          hostname: a.example.com
          tls: { mode: Terminate, certificateRefs: [ { name: nowhere } ] }
        - name: foreign
          port: 8443
          protocol: HTTPS
          hostname: b.example.com
          tls: { mode: Terminate, certificateRefs: [ { name: other-cert, namespace: certs } ] }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: edge, namespace: other }
      spec:
        gatewayClassName: keelson
        listeners: [ { name: tcp, port: 8080, protocol: TCP } ]
      """.formatted(b64.apply(cert.certPem()), b64.apply(cert.keyPem()));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void unresolvedCertificatesAndProtocolConflictsMakeListenersInvalid() throws Exception {
    PolicySet state = state(GATEWAYS);
    Map<String, Object> status = GatewayApiStatus.of(doc(state, "Gateway/edge/edge"), state, List.of());
    assertThat(conditions(status.get("conditions"))).containsExactly("Accepted=False/ListenersNotValid",
        "Programmed=False/Invalid");
    List<?> listeners = (List<?>) status.get("listeners");
    // Gateway API Gateways named edge in two namespaces select the same proxies: port 8080 is HTTP and TCP.
    assertThat(conditions(((Map<?, ?>) listeners.get(0)).get("conditions"))).contains("Accepted=False/PortUnavailable",
        "Conflicted=True/ProtocolConflict", "Programmed=False/Invalid");
    assertThat(conditions(((Map<?, ?>) listeners.get(1)).get("conditions"))).contains(
        "Conflicted=False/NoConflicts", "ResolvedRefs=False/InvalidCertificateRef", "Programmed=False/Invalid");
    assertThat(conditions(((Map<?, ?>) listeners.get(2)).get("conditions"))).contains(
        "ResolvedRefs=False/RefNotPermitted");
    assertThat(message(((Map<?, ?>) listeners.get(1)).get("conditions"), "ResolvedRefs")).contains("edge/nowhere");

    // Without the other namespace's Gateway only the certificates are wrong: Accepted (ListenersNotValid).
    PolicySet one = state(GATEWAYS.substring(0, GATEWAYS.lastIndexOf("---")));
    assertThat(conditions(GatewayApiStatus.of(doc(one, "Gateway/edge/edge"), one, List.of()).get("conditions")))
        .containsExactly("Accepted=True/ListenersNotValid", "Programmed=False/Pending");
  }

  @Test
  void aCrossNamespaceCertificateWithoutAGrantIsRefNotPermittedWhetherOrNotTheSecretExists() throws Exception {
    PolicySet state = state(GATEWAYS.substring(0, GATEWAYS.lastIndexOf("---")).replace(
        "certificateRefs: [ { name: other-cert, namespace: certs } ]",
        "certificateRefs: [ { name: no-such-cert, namespace: certs } ]"));
    Map<?, ?> foreign = (Map<?, ?>) ((List<?>) GatewayApiStatus.of(doc(state, "Gateway/edge/edge"), state, List.of())
        .get("listeners")).get(2);
    // The grant is checked first: the status says nothing of which Secrets another namespace holds.
    assertThat(conditions(foreign.get("conditions"))).contains("ResolvedRefs=False/RefNotPermitted");
    assertThat(message(foreign.get("conditions"), "ResolvedRefs")).doesNotContain("no Secret");
  }

  @Test
  void aProxyServingOnlyInvalidListenersDoesNotProgramTheGateway() throws Exception {
    PolicySet one = state(GATEWAYS.substring(0, GATEWAYS.lastIndexOf("---")));
    // The proxy holds listener 'missing's chain (built elsewhere), but that listener has no Secret: it is not valid.
    var proxy = pushed(listener(8443, "edge/edge/1"));
    Map<String, Object> status = GatewayApiStatus.of(doc(one, "Gateway/edge/edge"), one, List.of(proxy));
    assertThat(conditions(status.get("conditions"))).containsExactly("Accepted=True/ListenersNotValid",
        "Programmed=False/Invalid");
    assertThat(conditions(((Map<?, ?>) ((List<?>) status.get("listeners")).get(1)).get("conditions")))
        .contains("Programmed=False/Invalid");
  }

  @Test
  void anHttpListenerIsProgrammedWhenItsRouteConfigurationHasTheVirtualHostsOfItsAttachedRoutes() throws Exception {
    PolicySet state = state(GATEWAYS.substring(0, GATEWAYS.lastIndexOf("---")).replace(
        "- { name: http, port: 8080, protocol: HTTP }",
        "- { name: http, port: 8080, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }") + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: shop }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: http } ]
          hostnames: [ shop.example.com ]
          rules: [ { backendRefs: [ { name: web, port: 80 } ] } ]
        """);
    Policy gateway = doc(state, "Gateway/edge/edge");
    assertThat(((Map<?, ?>) ((List<?>) GatewayApiStatus.of(gateway, state, List.of()).get("listeners")).get(0))
        .get("attachedRoutes")).isEqualTo(1);
    // What the gateway's proxies are really pushed for this state: its listener, and its route configuration with and
    // without the route's virtual hosts.
    var translated = io.keelson.control.xds.Mesh.gateway(state, Map.of("gateway.networking.k8s.io/gateway-name",
        "edge"));
    Listener listener = translated.listeners().stream().filter(l -> l.getAddress().getSocketAddress().getPortValue()
        == 8080).findFirst().orElseThrow();
    RouteConfiguration routes = translated.routes().stream().filter(rc -> rc.getVirtualHostsList().stream()
        .anyMatch(v -> v.getDomainsList().contains("shop.example.com"))).findFirst().orElseThrow();
    var noRoutes = pushed(listener);
    var noVirtualHost = pushed(listener, routes.toBuilder().clearVirtualHosts().build());
    var served = pushed(listener, routes);
    assertThat(httpListener(gateway, state, noRoutes)).contains("Programmed=False/Pending");
    assertThat(httpListener(gateway, state, noVirtualHost)).contains("Programmed=False/Pending");
    assertThat(httpListener(gateway, state, served)).contains("Programmed=True/Programmed");
    assertThat(conditions(GatewayApiStatus.of(gateway, state, List.of(served)).get("conditions")))
        .contains("Programmed=True/Programmed");
  }

  private static List<String> httpListener(Policy gateway, PolicySet state, XdsServer.PushedGateway proxy) {
    Map<String, Object> status = GatewayApiStatus.of(gateway, state, List.of(proxy));
    return conditions(((Map<?, ?>) ((List<?>) status.get("listeners")).get(0)).get("conditions"));
  }

  private static XdsServer.PushedGateway pushed(Listener listener, RouteConfiguration... routes) {
    return new XdsServer.PushedGateway("edge-gw", Map.of("gateway.networking.k8s.io/gateway-name", "edge"),
        List.of(listener), List.of(routes));
  }

  /** A listener on {@code port} with one filter chain named {@code chain}. */
  private static Listener listener(int port, String chain) {
    return Listener.newBuilder().setName("0.0.0.0_" + port)
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0")
            .setPortValue(port)))
        .addFilterChains(FilterChain.newBuilder().setName(chain)).build();
  }

  @Test
  void routesSayWhichParentsTookThemAndWhetherTheirBackendsExist() throws Exception {
    PolicySet state = state(GATEWAYS + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs:
          - { name: edge, namespace: edge, sectionName: http }
          - { name: edge, namespace: edge, sectionName: nope }
          - { name: gone, namespace: edge }
          rules: [ { backendRefs: [ { name: web, port: 80 }, { name: missing, port: 80 } ] } ]
        """);
    Map<String, Object> status = GatewayApiStatus.of(doc(state, "HTTPRoute/r"), state, List.of());
    List<?> parents = (List<?>) status.get("parents");
    assertThat(parents).hasSize(3);
    // listener http takes routes of its Gateway's namespace only (from: Same, the default); the route is in default.
    assertThat(conditions(((Map<?, ?>) parents.get(0)).get("conditions"))).containsExactly(
        "Accepted=False/NotAllowedByListeners", "ResolvedRefs=False/BackendNotFound");
    assertThat(message(((Map<?, ?>) parents.get(0)).get("conditions"), "Accepted"))
        .contains("takes routes of namespace edge only");
    assertThat(message(((Map<?, ?>) parents.get(0)).get("conditions"), "ResolvedRefs")).contains("no Service missing");
    assertThat(conditions(((Map<?, ?>) parents.get(1)).get("conditions"))).first()
        .isEqualTo("Accepted=False/NoMatchingParent");
    assertThat(conditions(((Map<?, ?>) parents.get(2)).get("conditions"))).first()
        .isEqualTo("Accepted=False/NoMatchingParent");
    assertThat(((Map<?, ?>) parents.get(0)).get("parentRef")).isEqualTo(Map.of("group", "gateway.networking.k8s.io",
        "kind", "Gateway", "namespace", "edge", "name", "edge", "sectionName", "http"));
    // An Istio Gateway and a VirtualService have no Gateway API status.
    assertThat(GatewayApiStatus.of(doc(state, "Service/web"), state, List.of())).isNull();
  }

  private static PolicySet state(String yaml) throws Exception {
    Map<String, Policy> byKey = new LinkedHashMap<>();
    PolicyParser.parse("s.yaml", yaml).policies().forEach(p -> byKey.put(p.meta().key(), p));
    return new PolicySet(1, byKey);
  }

  private static Policy doc(PolicySet state, String key) {
    return state.all().stream().filter(p -> p.meta().key().equals(key)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + key + " in " + state.all().stream().map(p -> p.meta().key())
            .toList()));
  }

  private static List<String> conditions(Object list) {
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) list) {
      Map<?, ?> c = (Map<?, ?>) o;
      out.add(c.get("type") + "=" + c.get("status") + "/" + c.get("reason"));
    }
    return out;
  }

  private static String message(Object list, String type) {
    return ((List<?>) list).stream().map(o -> (Map<?, ?>) o).filter(c -> c.get("type").equals(type)).findFirst()
        .map(c -> (String) c.get("message")).orElseThrow();
  }
}
