package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gateway API GRPCRoute to Envoy routes: method matches become /service/method paths limited to gRPC. */
class GrpcRouteTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: echo }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: echo-v2 }
      spec: { ports: [ { name: grpc, port: 50051 } ] }
      ---
      """;

  private static VirtualHost translate(String routeYaml) throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("route.yaml", SERVICES + routeYaml).policies(), false);
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    return r.routes().getFirst().getVirtualHostsList().stream().filter(v -> v.getName().equals("echo"))
        .findFirst().orElseThrow();
  }

  @Test
  void methodMatchesBecomeGrpcPathMatchesWithHeadersWeightsAndHeaderFilters() throws Exception {
    VirtualHost vh = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: echo }
        spec:
          parentRefs: [ { kind: Service, group: "", name: echo } ]
          hostnames: [ echo.example ]
          rules:
          - matches:
            - method: { service: echo.Echo, method: Say }
              headers: [ { name: x-canary, value: "yes" } ]
            - method: { service: echo.Admin }
            - method: { type: RegularExpression, method: "Get.*" }
            filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [ { name: x-route, value: grpc } ] }
            backendRefs: [ { name: echo, port: 50051, weight: 9 }, { name: echo-v2, port: 50051, weight: 1 } ]
        """);
    assertThat(vh.getDomainsList()).contains("echo", "echo.example");
    List<Route> routes = vh.getRoutesList();
    assertThat(routes).hasSize(3);
    assertThat(routes).allSatisfy(r -> assertThat(r.getMatch().hasGrpc()).isTrue());
    assertThat(routes.get(0).getMatch().getPath()).isEqualTo("/echo.Echo/Say");
    assertThat(routes.get(0).getMatch().getHeaders(0).getName()).isEqualTo("x-canary");
    assertThat(routes.get(1).getMatch().getPrefix()).isEqualTo("/echo.Admin/");
    assertThat(routes.get(2).getMatch().getSafeRegex().getRegex()).isEqualTo("/([^/]+)/(Get.*)");
    assertThat(routes.get(0).getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight().getValue()).containsExactly("echo=9", "echo-v2=1");
    assertThat(routes.get(0).getRequestHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-route");
  }

  @Test
  void aRuleWithoutMatchesTakesEveryGrpcRequestAndComesBeforeHttpRoutes() throws Exception {
    VirtualHost vh = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: a-http }
        spec:
          parentRefs: [ { kind: Service, group: "", name: echo } ]
          rules: [ { backendRefs: [ { name: echo, port: 50051 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: z-grpc }
        spec:
          parentRefs: [ { kind: Service, group: "", name: echo } ]
          rules: [ { backendRefs: [ { name: echo-v2, port: 50051 } ] } ]
        """);
    assertThat(vh.getRoutes(0).getName()).startsWith("GRPCRoute/z-grpc");
    assertThat(vh.getRoutes(0).getMatch().hasGrpc()).isTrue();
    assertThat(vh.getRoutes(0).getMatch().getPrefix()).isEqualTo("/");
    assertThat(vh.getRoutes(1).getName()).startsWith("HTTPRoute/a-http");
  }

  @Test
  void badGrpcRoutesAreRejectedWithThePath() {
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { kind: Service, group: "", name: echo } ]
          rules:
          - matches: [ { method: { type: Exact, service: "a/b" } }, { method: { type: Prefix, service: s } }, { method: {} } ]
            filters: [ { type: RequestRedirect } ]
            backendRefs: [ { name: echo } ]
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.rules[0].matches[0].method.service: 'a/b' is not a gRPC service name")
        .hasMessageContaining("spec.rules[0].matches[1].method.type: 'Prefix' is not a method match type")
        .hasMessageContaining("spec.rules[0].matches[2].method.service: one of service and method is required")
        .hasMessageContaining("spec.rules[0].filters[0].type: 'RequestRedirect' is not a GRPCRoute filter type");
  }

  @Test
  void aGrpcRoutesGatewayParentsNameGatewayListeners() throws Exception {
    // Once refused by name; now GRPCRoute takes Gateway parents as HTTPRoute does (GatewayApiStreamTranslationTest).
    var r = (io.keelson.control.policy.Policy.Routes) PolicyParser.parse("r.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { name: public }, { kind: Gateway, name: other, sectionName: grpc } ]
          rules:
          - backendRefs: [ { name: echo } ]
        """).policies().getFirst();
    assertThat(r.gateways()).containsExactly("default/public", "default/other/grpc");
    assertThat(r.forMesh()).isFalse();
  }
}
