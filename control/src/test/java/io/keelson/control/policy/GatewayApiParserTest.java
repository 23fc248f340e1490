package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Gateway API Gateway onto the gateway model, and HTTPRoute parentRefs of kind Gateway (with sectionName). */
class GatewayApiParserTest {
  @Test
  void listenersBecomeServersSelectedByTheGatewayNameLabel() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web, namespace: edge }
        spec:
          gatewayClassName: istio
          listeners:
          - { name: http, port: 8080, protocol: HTTP }
          - name: https
            port: 8443
            protocol: HTTPS
            hostname: "*.example.com"
            tls: { mode: Terminate, certificateRefs: [ { kind: Secret, name: web-cert } ] }
        """).policies().getFirst();
    assertThat(g.ref()).isEqualTo("edge/web");
    assertThat(g.selector()).isEqualTo(Map.of("gateway.networking.k8s.io/gateway-name", "web"));
    assertThat(g.servers()).containsExactly(
        new Policy.Server(0, 8080, "http", "HTTP", List.of("*"), null),
        new Policy.Server(1, 8443, "https", "HTTPS", List.of("*.example.com"),
            new Policy.ServerTls(false, "SIMPLE", "web-cert", null)));
  }

  @Test
  void refusesWhatItDoesNotActOnByFieldPath() {
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web }
        spec:
          gatewayClassName: nginx
          addresses: [ { value: 10.0.0.1 } ]
          listeners:
          - { name: a, port: 80, protocol: TCP }
          - { name: a, port: 81, protocol: HTTPS }
          - name: c
            port: 82
            protocol: HTTPS
            hostname: "bad name"
            tls: { mode: Passthrough, certificateRefs: [ { name: x, namespace: other } ] }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Gateway/web: spec.addresses: addresses are not supported; a Keelson gateway binds its"
            + " --gateway-address",
        "bad.yaml: Gateway/web: spec.gatewayClassName: 'nginx' is not a class Keelson implements; expected istio or keelson",
        "bad.yaml: Gateway/web: spec.listeners[0].protocol: 'TCP' is not supported yet; expected HTTP or HTTPS",
        "bad.yaml: Gateway/web: spec.listeners[1].name: 'a' is the name of another listener; expected unique names"
            + " (sectionName picks one)",
        "bad.yaml: Gateway/web: spec.listeners[1].tls: is required for an HTTPS listener; expected {mode: Terminate,"
            + " certificateRefs: [{name: SECRET}]}",
        "bad.yaml: Gateway/web: spec.listeners[2].hostname: 'bad name' is not a hostname; expected a DNS name or a"
            + " wildcard *.example.com",
        "bad.yaml: Gateway/web: spec.listeners[2].tls.mode: 'Passthrough' is not supported yet; expected Terminate",
        "bad.yaml: Gateway/web: spec.listeners[2].tls.certificateRefs[0].namespace: 'other': a Secret in another"
            + " namespace (ReferenceGrant) is not supported yet; expected the Gateway's namespace default");
  }

  @Test
  void httpRouteParentsOfKindGatewayWithSectionName() throws Exception {
    var r = (Policy.Routes) PolicyParser.parse("r.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { name: web, namespace: edge, sectionName: http }, { name: other }, { kind: Service, name: svc } ]
          hostnames: [ shop.example.com ]
          rules: [ { backendRefs: [ { name: svc, port: 80 } ] } ]
        """).policies().getFirst();
    assertThat(r.gateways()).containsExactly("edge/web/http", "default/other", "mesh");
    assertThat(r.services()).containsExactly("svc");
    assertThat(r.gatewayHosts()).containsExactly("shop.example.com");
    assertThat(r.boundTo("edge/web", "http")).isTrue();
    assertThat(r.boundTo("edge/web", "https")).isFalse();
    assertThat(r.boundTo("default/other", "any")).isTrue();
    assertThat(r.forMesh()).isTrue();
  }
}
