package io.keelson.control.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.telemetry.TelemetryResolver.ProxyTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.Side;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio's Telemetry precedence for one workload, per direction, as pure logic. */
class TelemetryResolverTest {
  private static final MeshTelemetry TRACED = MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", null, "1");

  private static List<Policy> docs(String yaml) throws Exception {
    return PolicyParser.parse("t.yaml", yaml).policies();
  }

  private static ProxyTelemetry resolve(String ns, Map<String, String> labels, List<Policy> docs,
      MeshTelemetry mesh) {
    return TelemetryResolver.resolve(ns, labels, ofType(docs, Policy.Telemetry.class), ofType(docs, Policy.Gateway.class),
        mesh, "istio-system");
  }

  private static <T> List<T> ofType(List<Policy> docs, Class<T> type) {
    return docs.stream().filter(type::isInstance).map(type::cast).toList();
  }

  @Test
  void withNothingConfiguredEverythingIsOffAndTheFlagsAreTheMeshDefault() {
    assertThat(resolve("shop", Map.of(), List.of(), MeshTelemetry.OFF)).isEqualTo(ProxyTelemetry.OFF);
    ProxyTelemetry t = resolve("shop", Map.of(), List.of(), TRACED);
    assertThat(t.client()).isEqualTo(new Side(false, true, 1.0));
    assertThat(t.server()).isEqualTo(new Side(false, true, 1.0));
    MeshTelemetry logged = MeshTelemetry.fromFlags("/dev/stdout", null, null, null, null, null);
    assertThat(resolve("shop", Map.of(), List.of(), logged).client()).isEqualTo(new Side(true, false, 0));
  }

  @Test
  void metricOverridesMergePerMetricDownTheLevelsPerDirection() throws Exception {
    List<Policy> all = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: mesh, namespace: istio-system }
        spec:
          metrics:
          - overrides:
            - match: { metric: REQUEST_COUNT }
              disabled: true
              tagOverrides: { request_protocol: { operation: REMOVE }, team: { value: "'mesh'" } }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: ns, namespace: shop }
        spec:
          metrics:
          - overrides:
            - match: { metric: REQUEST_COUNT, mode: CLIENT }
              disabled: false
              tagOverrides: { request_protocol: { value: "'h'" } }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: reviews, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          metrics:
          - overrides:
            - match: { mode: SERVER }
              tagOverrides: { host: { value: request.host } }
        """);
    ProxyTelemetry reviews = resolve("shop", Map.of("app", "reviews"), all, MeshTelemetry.OFF);
    Map<String, String> clientTags = new java.util.LinkedHashMap<>();
    clientTags.put("team", "'mesh'");
    clientTags.put("request_protocol", "'h'");
    assertThat(reviews.client().metrics()).containsExactly(Map.entry("requests_total",
        new TelemetryResolver.MetricSettings(false, clientTags)));
    assertThat(reviews.client().metrics().get("requests_total").tags().keySet()).as("a re-set tag moves last")
        .containsExactly("team", "request_protocol");
    var server = reviews.server().metrics();
    assertThat(server.get("requests_total").disabled()).isTrue();
    assertThat(server.get("requests_total").tags()).containsEntry("request_protocol", null)
        .containsEntry("host", "request.host");
    assertThat(server.get("request_duration_milliseconds")).isEqualTo(new TelemetryResolver.MetricSettings(false,
        Map.of("host", "request.host")));
    assertThat(server).containsKey("tcp_connections_opened_total").hasSize(Policy.MetricOverride.PLUGIN_NAMES
        .get("ALL_METRICS").size());
    assertThat(reviews.client().accessLog()).isFalse();
    assertThat(resolve("bank", Map.of(), all, MeshTelemetry.OFF).client().metrics()).containsOnlyKeys("requests_total");
  }

  @Test
  void otherNamespacesAndUnmatchedSelectorsDoNotApplyAndTheFirstByNameWinsAtALevel() throws Exception {
    List<Policy> all = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: other-ns, namespace: bank }
        spec: { accessLogging: [ {} ] }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: v2-only, namespace: shop }
        spec:
          selector: { matchLabels: { version: v2 } }
          accessLogging: [ {} ]
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: a-first, namespace: shop }
        spec: { tracing: [ { randomSamplingPercentage: 20 } ] }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: b-second, namespace: shop }
        spec: { tracing: [ { randomSamplingPercentage: 80 } ] }
        """);
    ProxyTelemetry v1 = resolve("shop", Map.of("version", "v1"), all, TRACED);
    assertThat(v1.client()).isEqualTo(new Side(false, true, 20.0));
    assertThat(resolve("shop", Map.of("version", "v2"), all, TRACED).client().accessLog()).isTrue();
    assertThat(resolve("bank", Map.of(), all, MeshTelemetry.OFF).server()).isEqualTo(new Side(true, false, 0));
  }

  @Test
  void eachLevelOverridesFieldByFieldPerDirection() throws Exception {
    List<Policy> all = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: mesh, namespace: istio-system }
        spec:
          accessLogging: [ { providers: [ { name: envoy } ] } ]
          tracing: [ { randomSamplingPercentage: 10 } ]
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: ns, namespace: shop }
        spec:
          tracing: [ { disableSpanReporting: true, match: { mode: SERVER } } ]
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: reviews, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          accessLogging: [ { disabled: true, match: { mode: CLIENT } } ]
          tracing: [ { randomSamplingPercentage: 50, match: { mode: CLIENT } } ]
        """);
    ProxyTelemetry reviews = resolve("shop", Map.of("app", "reviews"), all, TRACED);
    assertThat(reviews.client()).isEqualTo(new Side(false, true, 50.0));
    assertThat(reviews.server()).as("namespace: no spans inbound; mesh: logs").isEqualTo(new Side(true, false, 0));
    ProxyTelemetry other = resolve("shop", Map.of("app", "ratings"), all, TRACED);
    assertThat(other.client()).isEqualTo(new Side(true, true, 10.0));
    // An unknown provider (a document written for another replica's flags) turns that direction off.
    List<Policy> zipkin = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: z, namespace: shop }
        spec: { tracing: [ { providers: [ { name: zipkin } ], match: { mode: CLIENT } } ] }
        """);
    ProxyTelemetry z = resolve("shop", Map.of(), zipkin, TRACED);
    assertThat(z.client().traced()).isFalse();
    assertThat(z.server().traced()).isTrue();
  }

  /** Telemetry edge/public-logs: access logs on at the proxies of Gateway edge/public. */
  private static final String PUBLIC_LOGS = """
      apiVersion: telemetry.istio.io/v1
      kind: Telemetry
      metadata: { name: public-logs, namespace: edge }
      spec:
        targetRefs: [ { group: gateway.networking.k8s.io, kind: Gateway, name: public } ]
        accessLogging: [ {} ]
      """;
  private static final Map<String, String> PUBLIC_GW = Map.of("gateway.networking.k8s.io/gateway-name", "public");

  /** A Gateway API Gateway {@code namespace/name} with one HTTP listener. */
  private static String gateway(String namespace, String name) {
    return """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: %s, namespace: %s }
        spec: { gatewayClassName: keelson, listeners: [ { name: http, port: 8080, protocol: HTTP } ] }
        """.formatted(name, namespace);
  }

  @Test
  void aTargetRefReachesTheProxiesItsGatewaySelectsInAnyNamespaceAtTheWorkloadLevel() throws Exception {
    List<Policy> all = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: ns-off, namespace: edge }
        spec: { accessLogging: [ { disabled: true } ] }
        ---
        """ + PUBLIC_LOGS + gateway("edge", "public") + gateway("edge", "internal"));
    Map<String, String> internalGw = Map.of("gateway.networking.k8s.io/gateway-name", "internal");
    MeshTelemetry logged = MeshTelemetry.fromFlags("/dev/stdout", null, null, null, null, null);
    // The targetRef overrides its namespace's Telemetry for the named Gateway's proxies, as a selector would.
    assertThat(resolve("edge", PUBLIC_GW, all, logged).asGateway().client().accessLog()).isTrue();
    assertThat(resolve("edge", internalGw, all, logged).asGateway().client().accessLog()).isFalse();
    // Gateways are bound to proxies by label only: a proxy of another namespace (a plaintext gateway, default) serving
    // edge/public gets the Telemetry too; a sidecar without the label does not.
    assertThat(resolve("default", PUBLIC_GW, all, MeshTelemetry.OFF).asGateway().client().accessLog()).isTrue();
    assertThat(resolve("edge", Map.of("app", "public"), all, logged).client().accessLog()).isFalse();
  }

  @Test
  void aTargetRefNamingNoGatewayOfItsNamespaceReachesNoProxy() throws Exception {
    // shop/public's proxies carry the same label, but the Telemetry names edge/public, which does not exist.
    List<Policy> all = docs(PUBLIC_LOGS + gateway("shop", "public"));
    assertThat(resolve("edge", PUBLIC_GW, all, MeshTelemetry.OFF)).isEqualTo(ProxyTelemetry.OFF);
    assertThat(resolve("shop", PUBLIC_GW, all, MeshTelemetry.OFF)).isEqualTo(ProxyTelemetry.OFF);
  }

  @Test
  void aGatewayRunsTheClientSideOnEveryListenerAndServerEntriesDoNotReachIt() throws Exception {
    List<Policy> all = docs("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: edge, namespace: istio-ingress }
        spec:
          selector: { matchLabels: { istio: ingressgateway } }
          accessLogging: [ { match: { mode: SERVER } } ]
          tracing: [ { match: { mode: CLIENT }, randomSamplingPercentage: 30 } ]
        """);
    ProxyTelemetry t = resolve("istio-ingress", Map.of("istio", "ingressgateway"), all, TRACED);
    assertThat(t.server().accessLog()).isTrue();
    ProxyTelemetry gateway = t.asGateway();
    assertThat(gateway.client()).isEqualTo(new Side(false, true, 30.0)).isEqualTo(gateway.server());
    assertThat(ProxyTelemetry.OFF.asGateway()).isSameAs(ProxyTelemetry.OFF);
  }

  @Test
  void aTargetRefDoesNotReachTheProxiesOfAnIstioGatewayOfTheSameName() throws Exception {
    // networking.istio.io Gateway edge/public selects its proxies by the same label; a targetRef names a Gateway API
    // Gateway (group gateway.networking.k8s.io) only.
    List<Policy> all = docs(PUBLIC_LOGS + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: public, namespace: edge }
        spec:
          selector: { gateway.networking.k8s.io/gateway-name: public }
          servers: [ { port: { number: 8080, name: http, protocol: HTTP }, hosts: [ "*" ] } ]
        """);
    assertThat(resolve("edge", PUBLIC_GW, all, MeshTelemetry.OFF)).isEqualTo(ProxyTelemetry.OFF);
  }
}
