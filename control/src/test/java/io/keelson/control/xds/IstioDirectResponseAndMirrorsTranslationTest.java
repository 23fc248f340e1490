package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.config.MirrorPolicy;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * VirtualService {@code directResponse} and {@code mirrors} to Envoy routes, checked twice: the Envoy fields as
 * istiod sets them, and the data plane's own translation of those routes (so a Keelson proxy would not NACK them).
 */
class IstioDirectResponseAndMirrorsTranslationTest {
  private static final String REGISTRY = Mesh.registry(9001, 9002) + """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-shadow }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-shadow-1 }
      spec: { service: product-shadow, address: 127.0.0.1, port: 9003 }
      """;

  private static final String DESTINATION_RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        subsets:
        - { name: v1, labels: { version: v1 } }
        - { name: v2, labels: { version: v2 } }
      """;

  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product }
      spec:
        hosts: [ product-service ]
        http:
        - name: teapot
          match: [ { uri: { prefix: /teapot } } ]
          directResponse: { status: 418, body: { string: "short and stout" } }
          headers: { response: { set: { x-served-by: mesh } } }
        - name: raw
          match: [ { uri: { prefix: /raw } } ]
          directResponse: { status: 200, body: { bytes: "aGVsbG8=" } }
        - name: empty
          match: [ { uri: { prefix: /gone } } ]
          directResponse: { status: 410 }
        - name: main
          route: [ { destination: { host: product-service, subset: v1 } } ]
          mirrors:
          - destination: { host: product-shadow }
          - destination: { host: product-service, subset: v2 }
            percentage: { value: 12.5 }
          - destination: { host: product-shadow }
            percentage: { value: 0 }
      """;

  private static MeshResources translate(String yaml) throws Exception {
    List<Policy> all = new ArrayList<>(PolicyParser.parse("registry.yaml", REGISTRY).policies());
    all.addAll(PolicyParser.parse("policy.yaml", yaml).policies());
    return new MeshTranslator(15001, false).translate(PolicySet.EMPTY.with(all), List.of());
  }

  private static List<Route> routes(MeshResources r) {
    return r.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().equals("product-service")).findFirst().orElseThrow().getRoutesList();
  }

  private static List<RouteAction> dataPlane(MeshResources r) throws Exception {
    Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new HashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> eps = new HashMap<>();
    r.endpoints().forEach(e -> eps.put(e.getClusterName(), e));
    ProxySnapshot s = XdsSnapshotTranslator.translate("v1", Bootstrap.StaticResources.getDefaultInstance(), r.listeners(),
        routes, r.clusters(), eps);
    var l = s.listeners().stream().filter(x -> x.http() != null).findFirst().orElseThrow();
    return l.http().routeConfig().virtualHosts().stream().filter(v -> v.name().equals("product-service")).findFirst()
        .orElseThrow().routes().stream().map(e -> e.action()).toList();
  }

  @Test
  void directResponsesBecomeEnvoyDirectResponseActions() throws Exception {
    MeshResources r = translate(DESTINATION_RULE + "---\n" + VIRTUAL_SERVICE);
    List<Route> routes = routes(r);
    Route teapot = routes.get(0);
    assertThat(teapot.getName()).isEqualTo("VirtualService/product/teapot");
    assertThat(teapot.hasRoute()).isFalse();
    assertThat(teapot.getDirectResponse().getStatus()).isEqualTo(418);
    assertThat(teapot.getDirectResponse().getBody().getInlineString()).isEqualTo("short and stout");
    assertThat(teapot.getResponseHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-served-by");
    assertThat(routes.get(1).getDirectResponse().getBody().getInlineBytes().toStringUtf8()).isEqualTo("hello");
    assertThat(routes.get(2).getDirectResponse().getStatus()).isEqualTo(410);
    assertThat(routes.get(2).getDirectResponse().hasBody()).isFalse();

    List<RouteAction> actions = dataPlane(r);
    assertThat(actions.get(0)).isEqualTo(new RouteAction.DirectResponse(418, "short and stout"));
    assertThat(actions.get(1)).isEqualTo(new RouteAction.DirectResponse(200, "hello"));
    assertThat(actions.get(2)).isEqualTo(new RouteAction.DirectResponse(410, ""));
  }

  @Test
  void mirrorsBecomeOneRequestMirrorPolicyEach() throws Exception {
    MeshResources r = translate(DESTINATION_RULE + "---\n" + VIRTUAL_SERVICE);
    var action = routes(r).get(3).getRoute();
    assertThat(action.getCluster()).isEqualTo("product-service|v1");
    var policies = action.getRequestMirrorPoliciesList();
    assertThat(policies).hasSize(3);
    assertThat(policies.get(0).getCluster()).isEqualTo("product-shadow");
    assertThat(policies.get(0).hasRuntimeFraction()).as("100%: every request").isFalse();
    assertThat(policies.get(1).getCluster()).isEqualTo("product-service|v2");
    assertThat(policies.get(1).getRuntimeFraction().getDefaultValue()).isEqualTo(FractionalPercent.newBuilder()
        .setNumerator(125_000).setDenominator(FractionalPercent.DenominatorType.MILLION).build());
    assertThat(policies.get(2).getRuntimeFraction().getDefaultValue().getNumerator()).isZero();

    var forward = (RouteAction.Forward) dataPlane(r).get(3);
    assertThat(forward.mirrors()).containsExactly(new MirrorPolicy("product-shadow", MirrorPolicy.ALL),
        new MirrorPolicy("product-service|v2", 125_000), new MirrorPolicy("product-shadow", 0));
  }

  @Test
  void aMirrorsDestinationThatDoesNotExistIsReportedAtItsPath() throws Exception {
    PolicyStore store = new PolicyStore();
    List<Policy> all = new ArrayList<>(PolicyParser.parse("registry.yaml", REGISTRY).policies());
    all.addAll(PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product }
        spec:
          hosts: [ product-service ]
          http:
          - route: [ { destination: { host: product-service } } ]
            mirrors:
            - destination: { host: product-shadow }
            - destination: { host: nowhere }
            - destination: { host: product-shadow, subset: v9 }
        """).policies());
    assertThatThrownBy(() -> store.apply(all, false)).isInstanceOfSatisfying(PolicyException.class, e ->
        assertThat(e.errors()).extracting(Object::toString).containsExactly(
            "vs.yaml: VirtualService/product: spec.http[0].mirrors[1].destination.host: no Service 'nowhere' is registered"
                + " and no ServiceEntry declares it; apply a keelson.io/v1alpha1 Service (or a ServiceEntry with that"
                + " host) first, or in the same set",
            "vs.yaml: VirtualService/product: spec.http[0].mirrors[2].destination.subset: no DestinationRule defines subset"
                + " 'v9' of service 'product-shadow'; apply the DestinationRule with the subsets first, or in the same set"));
  }
}
