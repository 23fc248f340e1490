package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.telemetry.MeshTelemetry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio's Telemetry as Keelson reads it, what it refuses by name, and the mesh defaults' flags. */
class TelemetryParserTest {
  @Test
  void telemetryIsNamespacedWithSelectorEntriesModesAndSampling() throws Exception {
    Policy.Telemetry t = (Policy.Telemetry) PolicyParser.parse("t.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: reviews, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          accessLogging:
          - providers: [ { name: envoy } ]
            match: { mode: SERVER }
            filter: { expression: "response.code >= 400" }
          - disabled: true
            match: { mode: CLIENT }
          tracing:
          - randomSamplingPercentage: 12.5
            disableSpanReporting: false
            providers: [ { name: otel } ]
        """).policies().getFirst();
    assertThat(t.meta().key()).isEqualTo("Telemetry/shop/reviews");
    assertThat(t.selector()).isEqualTo(Map.of("app", "reviews"));
    assertThat(t.accessLogging()).containsExactly(
        new Policy.AccessLogging(List.of("envoy"), null, Policy.TelemetryMode.SERVER, "response.code >= 400"),
        new Policy.AccessLogging(List.of(), true, Policy.TelemetryMode.CLIENT));
    assertThat(t.tracing()).containsExactly(
        new Policy.Tracing(List.of("otel"), 12.5, false, Policy.TelemetryMode.CLIENT_AND_SERVER));

    Policy.Telemetry alpha = (Policy.Telemetry) PolicyParser.parse("a.yaml", """
        apiVersion: telemetry.istio.io/v1alpha1
        kind: Telemetry
        metadata: { name: mesh-default }
        spec: { tracing: [ { randomSamplingPercentage: 10 } ] }
        """).policies().getFirst();
    assertThat(alpha.namespace()).isEqualTo("default");
    assertThat(alpha.selector()).isNull();
  }

  @Test
  void whatTheDataPlaneCannotDoIsRefusedByFieldPath() {
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: bad, namespace: istio-system }
        spec:
          selector: { matchLabels: { app: x } }
          accessLogging:
          - filter: { expression: "response.code >= '400'" }
          - match: { mode: BOTH }
          - filter: { expression: "response.code >= 400 &&" }
          tracing:
          - customTags: { team: { literal: { value: a } } }
          - randomSamplingPercentage: 150
          - disableSpanReporting: "no"
        """))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("Telemetry/bad: spec.selector: a selector in the root namespace istio-system is ignored")
        .hasMessageContaining("spec.accessLogging[0].filter.expression: CEL expression 'response.code >= '400'' at column"
            + " 15: no matching overload for int >= string; expected both sides of one type")
        .hasMessageContaining("spec.accessLogging[2].filter.expression: CEL expression 'response.code >= 400 &&' at column"
            + " 24: expected a literal, a name, '(' or '[', got the end")
        .hasMessageContaining("spec.accessLogging[1].match.mode: 'BOTH' is not a mode; expected CLIENT_AND_SERVER")
        .hasMessageContaining("spec.tracing[0].customTags: customTags are not supported")
        .hasMessageContaining("spec.tracing[1].randomSamplingPercentage: expected a number from 0.0 to 100.0, got 150")
        .hasMessageContaining("spec.tracing[2].disableSpanReporting: expected true or false");
  }

  @Test
  void metricsOverridesAreReadInOrderWithTheirModesAndTags() throws Exception {
    Policy.Telemetry t = (Policy.Telemetry) PolicyParser.parse("m.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: reviews, namespace: shop }
        spec:
          selector: { matchLabels: { app: reviews } }
          metrics:
          - providers: [ { name: prometheus } ]
            overrides:
            - match: { metric: REQUEST_COUNT, mode: SERVER }
              disabled: true
            - tagOverrides:
                request_protocol: { operation: REMOVE }
                request_host: { value: request.host }
                team: { operation: UPSERT, value: "'payments'" }
                ua: { value: "request.headers['User-Agent']" }
            - match: { metric: TCP_OPENED_CONNECTIONS }
              tagOverrides: { zone: { value: "'a'" } }
        """).policies().getFirst();
    java.util.Map<String, String> tags = new java.util.LinkedHashMap<>();
    tags.put("request_protocol", null);
    tags.put("request_host", "request.host");
    tags.put("team", "'payments'");
    tags.put("ua", "request.headers['User-Agent']");
    assertThat(t.metrics()).containsExactly(
        new Policy.MetricOverride("REQUEST_COUNT", Policy.TelemetryMode.SERVER, true, Map.of()),
        new Policy.MetricOverride("ALL_METRICS", Policy.TelemetryMode.CLIENT_AND_SERVER, null, tags),
        new Policy.MetricOverride("TCP_OPENED_CONNECTIONS", Policy.TelemetryMode.CLIENT_AND_SERVER, null,
            Map.of("zone", "'a'")));
    assertThat(t.metrics().get(1).tags().keySet()).containsExactly("request_protocol", "request_host", "team", "ua");
  }

  @Test
  void metricsTheDataPlaneCannotDoAreRefusedByFieldPath() {
    assertThat(PolicyParserTest.errors("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: m, namespace: shop }
        spec:
          metrics:
          - providers: [ { name: stackdriver } ]
            reportingInterval: 5s
            overrides:
            - match: { customMetric: my_metric }
            - match: { metric: REQUEST_COUNTS, mode: BOTH }
            - tagOverrides:
                host: { value: "request.host + 'x'" }
                "bad-name": { value: "'a'" }
                gone: { operation: REMOVE, value: "'a'" }
                other: { operation: DELETE }
                none: { operation: UPSERT }
                peer: { value: upstream_peer.app }
            - match: { metric: TCP_SENT_BYTES }
              tagOverrides: { path: { value: request.path } }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Telemetry/m: spec.metrics[0].providers[0].name: 'stackdriver' is not supported; expected prometheus"
            + " (Istio's metrics are on /stats/prometheus)",
        "bad.yaml: Telemetry/m: spec.metrics[0].reportingInterval: reportingInterval is not supported: Keelson's metrics"
            + " are scraped from /stats/prometheus, never pushed",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[0].match.customMetric: custom metrics are not supported;"
            + " expected match.metric, one of Istio's standard metrics",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[1].match.metric: 'REQUEST_COUNTS' is not a metric; expected"
            + " one of " + Policy.MetricOverride.PLUGIN_NAMES.keySet(),
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[1].match.mode: 'BOTH' is not a mode; expected"
            + " CLIENT_AND_SERVER, CLIENT (outbound) or SERVER (inbound)",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.host.value: 'request.host + 'x'' is not"
            + " supported; expected " + io.keelson.dataplane.stats.IstioTagExpression.SUPPORTED,
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.bad-name: is not a Prometheus label name;"
            + " expected [a-zA-Z_][a-zA-Z0-9_]*",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.gone.value: a REMOVE has no value; expected"
            + " operation UPSERT to set one",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.other.operation: 'DELETE' is not an"
            + " operation; expected UPSERT or REMOVE",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.none.value: is required",
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[2].tagOverrides.peer.value: 'upstream_peer.app' is not"
            + " supported; expected " + io.keelson.dataplane.stats.IstioTagExpression.SUPPORTED,
        "bad.yaml: Telemetry/m: spec.metrics[0].overrides[3].tagOverrides.path.value: 'request.path' is evaluated per"
            + " request, and a TCP connection has none; expected a string literal for a TCP metric");

    assertThat(PolicyParserTest.errors("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: m, namespace: shop }
        spec:
          metrics:
          - overrides:
            - tagOverrides:
                a: { value: request.host }
                b: { value: request.method }
                c: { value: request.path }
                d: { value: request.url_path }
                e: { value: destination.port }
                f: { value: source.address }
                g: { value: "request.headers['x-g']" }
        """)).containsExactly("bad.yaml: Telemetry/m: spec.metrics: 7 distinct tag values are evaluated per request;"
        + " at most 6 are supported");
  }

  private static String tags(String name, String namespace, String selector, String... values) {
    StringBuilder tags = new StringBuilder();
    for (int i = 0; i < values.length; i++) {
      tags.append("        t").append(i).append(name.replace("-", "")).append(": { value: \"").append(values[i])
          .append("\" }\n");
    }
    return """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: %s, namespace: %s }
        spec:
        %s  metrics:
          - overrides:
            - tagOverrides:
        %s---
        """.formatted(name, namespace, selector, tags);
  }

  @Test
  void tagOverridesMergedDownTheLevelsOneProxyGetsAreRefusedOverTheDataPlanesLimit() throws Exception {
    var store = new io.keelson.control.store.PolicyStore();
    // Root 3 + namespace 3 = 6: what one proxy of shop evaluates, within the limit.
    store.apply(PolicyParser.parse("t.yaml", tags("mesh", "istio-system", "", "request.host", "request.method",
        "request.path") + tags("shop", "shop", "", "request.url_path", "destination.port", "source.address"))
        .policies(), false);
    // A workload Telemetry of shop adding a 7th is refused naming the documents it merges with.
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("w.yaml", tags("api", "shop",
        "  selector: { matchLabels: { app: api } }\n", "request.headers['x-a']")).policies(), false))
        .isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.errors()).map(PolicyError::toString)
            .anySatisfy(m -> assertThat(m).startsWith("w.yaml: Telemetry/shop/api: spec.metrics: with"
                + " [Telemetry/istio-system/mesh, Telemetry/shop/shop] one proxy evaluates 7 distinct tag values per"
                + " request; at most 6 are supported")));
    // Another namespace's workload has no namespace Telemetry: root 3 + its 3 pass; a 4th of its own does not.
    store.apply(PolicyParser.parse("o.yaml", tags("o", "other", "  selector: { matchLabels: { app: o } }\n",
        "request.headers['x-a']", "request.headers['x-b']", "request.headers['x-c']")).policies(), false);
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("o.yaml", tags("o", "other",
        "  selector: { matchLabels: { app: o } }\n", "request.headers['x-a']", "request.headers['x-b']",
        "request.headers['x-c']", "request.headers['x-d']")).policies(), false))
        .isInstanceOf(PolicyException.class);
  }

  @Test
  void targetRefsNameGatewayApiGatewaysOfItsNamespaceAndOtherKindsAreRefusedByField() throws Exception {
    Policy.Telemetry t = (Policy.Telemetry) PolicyParser.parse("refs.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: gw, namespace: shop }
        spec:
          targetRefs:
          - { group: gateway.networking.k8s.io, kind: Gateway, name: edge }
          - { group: gateway.networking.k8s.io, kind: Gateway, name: internal, namespace: shop }
          accessLogging: [ {} ]
        """).policies().getFirst();
    assertThat(t.targetGateways()).containsExactly("edge", "internal");
    assertThat(t.selector()).isNull();
    Policy.Telemetry one = (Policy.Telemetry) PolicyParser.parse("ref.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: gw, namespace: shop }
        spec: { targetRef: { group: gateway.networking.k8s.io, kind: Gateway, name: edge }, accessLogging: [ {} ] }
        """).policies().getFirst();
    assertThat(one.targetGateways()).containsExactly("edge");

    assertThat(PolicyParserTest.errors("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: gw, namespace: shop }
        spec:
          selector: { matchLabels: { app: x } }
          targetRefs:
          - { group: "", kind: Service, name: reviews }
          - { kind: Gateway, name: edge }
          - { group: gateway.networking.k8s.io, kind: Gateway, name: edge, namespace: other }
          - { group: gateway.networking.k8s.io, kind: GatewayClass, name: istio }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Telemetry/gw: spec.selector: only one of selector and targetRef(s) may be set; expected"
            + " targetRefs alone for a Gateway",
        "bad.yaml: Telemetry/gw: spec.targetRefs[0].kind: 'Service' is not supported; expected Gateway (group"
            + " gateway.networking.k8s.io): Telemetry reaches sidecars by selector",
        "bad.yaml: Telemetry/gw: spec.targetRefs[0].group: '' is not the Gateway API's group; expected"
            + " gateway.networking.k8s.io",
        "bad.yaml: Telemetry/gw: spec.targetRefs[1].group: is required; expected gateway.networking.k8s.io",
        "bad.yaml: Telemetry/gw: spec.targetRefs[2].namespace: 'other' is not this Telemetry's namespace shop;"
            + " expected the Gateway's namespace (put the Telemetry there)",
        "bad.yaml: Telemetry/gw: spec.targetRefs[3].kind: 'GatewayClass' is not supported; expected Gateway (group"
            + " gateway.networking.k8s.io): Telemetry reaches sidecars by selector");
    assertThat(PolicyParserTest.errors("""
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: gw, namespace: shop }
        spec:
          targetRef: { group: gateway.networking.k8s.io, kind: Gateway, name: a }
          targetRefs: [ { group: gateway.networking.k8s.io, kind: Gateway, name: b } ]
        """)).containsExactly(
        "bad.yaml: Telemetry/gw: spec.targetRefs: only one of targetRef and targetRefs may be set");
  }

  @Test
  void providerNamesAreCheckedAgainstTheControlPlanesProviders() throws Exception {
    List<Policy> docs = PolicyParser.parse("p.yaml", """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: p, namespace: shop }
        spec:
          accessLogging: [ { providers: [ { name: envoy }, { name: stackdriver } ] } ]
          tracing: [ { providers: [ { name: zipkin } ] } ]
        """).policies();
    assertThatThrownBy(() -> MeshTelemetry.OFF.check(docs)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("p.yaml: Telemetry/shop/p: spec.accessLogging[0].providers[1].name: access log provider "
            + "'stackdriver' is not defined; expected envoy")
        .hasMessageContaining("spec.tracing[0].providers[0].name: tracing provider 'zipkin' is not defined; the control "
            + "plane has none (start it with --tracing-otlp or --tracing-zipkin HOST:PORT)");
    MeshTelemetry otel = MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", "zipkin", null);
    assertThatThrownBy(() -> otel.check(docs)).hasMessageContaining("'stackdriver'").hasMessageNotContaining("'zipkin'");
  }

  @Test
  void theObservabilityExampleAppliesWithoutWarnings() throws Exception {
    Path example = Path.of("..", "examples", "observability", "telemetry.yaml");
    PolicyParser.Parsed parsed = PolicyParser.parse(example.toString(), Files.readString(example));
    assertThat(parsed.warnings()).isEmpty();
    assertThat(parsed.policies()).hasSize(2).allMatch(p -> p instanceof Policy.Telemetry);
    MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", null, null).check(parsed.policies());
  }

  @Test
  void meshFlagsAreValidatedWithTheFlagNamed() {
    assertThat(MeshTelemetry.fromFlags("", null, null, null, null, null).logsByDefault()).isFalse();
    assertThat(MeshTelemetry.fromFlags("/dev/stdout", "TEXT", "%REQ(:METHOD)% %RESPONSE_CODE%", null, null, null)
        .envoyAccessLog().textFormat()).isEqualTo("%REQ(:METHOD)% %RESPONSE_CODE%\n");
    assertThat(MeshTelemetry.fromFlags("/tmp/a.log", "JSON", "{\"m\":\"%REQ(:METHOD)%\"}", null, null, null)
        .envoyAccessLog().jsonFormat()).isEqualTo(Map.of("m", "%REQ(:METHOD)%"));
    assertThatThrownBy(() -> MeshTelemetry.fromFlags("/tmp/a.log", "XML", null, null, null, null))
        .hasMessage("--access-log-encoding 'XML': expected TEXT or JSON");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags("/tmp/a.log", null, "%NOPE%", null, null, null))
        .hasMessageStartingWith("--access-log-format: operator %NOPE% is not supported");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags("/tmp/a.log", "JSON", "%REQ(:METHOD)%", null, null, null))
        .hasMessageStartingWith("--access-log-format: with --access-log-encoding JSON the format must be a JSON object");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, "collector:99999", null, null))
        .hasMessageStartingWith("--tracing-otlp 'collector:99999': expected HOST:PORT");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", null, "101"))
        .hasMessageStartingWith("--tracing-sampling 101.0 is out of range");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, null, "otel", null))
        .hasMessage("--tracing-provider-name needs --tracing-otlp or --tracing-zipkin (the collector)");
  }
}
