package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Where the control plane puts envoy.filters.http.grpc_web, as istiod: a Service port named {@code grpc-web*} (or
 * with protocol {@code GRPC-Web}) is GRPC_WEB (HTTP/2 upstream hops); a gateway's GRPC-WEB server gets the filter in
 * its connection manager before CORS and fault, an HTTP server does not; bad protocol names say what is accepted.
 */
class GrpcWebTranslationTest {
  static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web-api }
      spec: { ports: [ { name: grpc-web-api, port: 8080 }, { name: grpc, port: 9090 }, { name: api, port: 7070, protocol: GRPC-Web } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: web-api-1 }
      spec: { service: web-api, address: 127.0.0.1, port: 8080 }
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers:
        - port: { number: 80, name: http, protocol: HTTP }
          hosts: [ shop.example.com ]
        - port: { number: 8081, name: grpc-web, protocol: GRPC-Web }
          hosts: [ api.example.com ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: api }
      spec:
        hosts: [ api.example.com, shop.example.com ]
        gateways: [ istio-system/ingress ]
        http:
        - route: [ { destination: { host: web-api, port: { number: 8080 } } } ]
      """;

  private static List<String> filters(Listener l) throws Exception {
    return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class).getHttpFiltersList()
        .stream().map(HttpFilter::getName).toList();
  }

  @Test
  void portNamesAndProtocolsSelectGrpcWebAsIstioDoes() throws Exception {
    PolicySet state = GatewayTranslationTest.store(MESH).current();
    Policy.Service svc = (Policy.Service) state.get("Service", "web-api");
    assertThat(svc.protocol(8080)).isEqualTo(Policy.Protocol.GRPC_WEB);
    assertThat(svc.protocol(9090)).isEqualTo(Policy.Protocol.GRPC);
    assertThat(svc.protocol(7070)).isEqualTo(Policy.Protocol.GRPC_WEB);
    assertThat(Policy.Protocol.GRPC_WEB.http()).isTrue();
    assertThat(Policy.Protocol.GRPC_WEB.http2()).isTrue();
  }

  @Test
  void aGrpcWebGatewayServerGetsTheFilterBeforeCorsAndFault() throws Exception {
    PolicySet state = GatewayTranslationTest.store(MESH).current();
    MeshResources r = GatewayTranslationTest.gateway(state, Map.of("istio", "ingressgateway"));
    assertThat(filters(GatewayTranslationTest.listener(r, "0.0.0.0_8081"))).containsExactly("envoy.filters.http.grpc_web",
        "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(filters(GatewayTranslationTest.listener(r, "0.0.0.0_80"))).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.router");
    // The gateway's cluster for the GRPC-Web port speaks HTTP/2 to the workloads.
    assertThat(r.clusters().stream().filter(c -> c.getName().equals("outbound|8080||web-api")).findFirst()
        .or(() -> r.clusters().stream().filter(c -> c.getName().equals("web-api")).findFirst())).isPresent();
  }

  @Test
  void aSidecarsOutboundRunsTheFilterOnlyWhenAServiceHasAGrpcWebPort() throws Exception {
    MeshResources with = new MeshTranslator(15001, false).translate(GatewayTranslationTest.store(MESH).current(), List.of());
    assertThat(filters(GatewayTranslationTest.listener(with, "outbound"))).containsExactly("envoy.filters.http.grpc_web",
        "envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
    MeshResources without = new MeshTranslator(15001, false).translate(
        GatewayTranslationTest.store(MESH.replace("grpc-web-api", "grpc-api").replace("port: 7070, protocol: GRPC-Web", "port: 7070")).current(), List.of());
    assertThat(filters(GatewayTranslationTest.listener(without, "outbound"))).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.router");
  }

  @Test
  void aServiceEntryGrpcWebPortPutsTheFilterInTheOutboundConnectionManager() throws Exception {
    String noServicePort = MESH.replace("grpc-web-api", "grpc-api").replace("port: 7070, protocol: GRPC-Web", "port: 7070");
    MeshResources r = new MeshTranslator(15001, false).translate(GatewayTranslationTest.store(noServicePort + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: external-web }
        spec:
          hosts: [ web.example.com ]
          resolution: STATIC
          ports: [ { number: 8080, name: api, protocol: GRPC-WEB } ]
          endpoints: [ { address: 127.0.0.1 } ]
        """).current(), List.of());
    assertThat(filters(GatewayTranslationTest.listener(r, "outbound"))).first()
        .isEqualTo("envoy.filters.http.grpc_web");
  }

  @Test
  void aGrpcWebGatewayServerWithTlsIsServedAsHttpsWithTheFilter() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("ca");
    var leaf = ca.issue("api.example.com", "api.example.com");
    String yaml = MESH.replace("  - port: { number: 8081, name: grpc-web, protocol: GRPC-Web }\n    hosts: [ api.example.com ]\n",
        "  - port: { number: 8443, name: grpc-web-tls, protocol: GRPC-Web }\n    hosts: [ api.example.com ]\n"
            + "    tls: { mode: SIMPLE, credentialName: api-cert }\n") + """
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: api-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        """.formatted(GatewayTranslationTest.b64(leaf.certPem()), GatewayTranslationTest.b64(leaf.keyPem()));
    assertThat(yaml).contains("credentialName: api-cert");
    MeshResources r = GatewayTranslationTest.gateway(GatewayTranslationTest.store(yaml).current(),
        Map.of("istio", "ingressgateway"));
    Listener l = GatewayTranslationTest.listener(r, "0.0.0.0_8443");
    assertThat(l.getFilterChains(0).hasTransportSocket()).as("TLS terminated").isTrue();
    assertThat(filters(l)).containsExactly("envoy.filters.http.grpc_web", "envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.router");
  }

  @Test
  void anUnknownProtocolNamesGrpcWebAmongTheAcceptedOnes() {
    assertThatThrownBy(() -> GatewayTranslationTest.store(MESH.replace("protocol: GRPC-Web }", "protocol: GRPC-WEBSOCKET }")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("expected one of HTTP, HTTP2, GRPC, GRPC-Web, TCP, TLS");
  }
}
