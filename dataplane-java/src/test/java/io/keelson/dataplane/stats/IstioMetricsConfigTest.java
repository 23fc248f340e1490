package io.keelson.dataplane.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.edge.HeaderAccess;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's metric overrides as the data plane applies them: the supported CEL forms (and nothing else), dropped
 * metrics neither recorded nor rendered, removed tags merging series, evaluated values bounded per expression.
 */
class IstioMetricsConfigTest {
  /** Headers as a plain map of lower-case names. */
  private static final HeaderAccess<Map<String, String>> MAP = new HeaderAccess<>() {
    public String getAll(Map<String, String> h, String name) {
      return h.get(name);
    }

    public boolean contains(Map<String, String> h, String name) {
      return h.containsKey(name);
    }

    public boolean containsPrefix(Map<String, String> h, String prefix) {
      return h.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    public void set(Map<String, String> h, String name, String value) {
      throw new UnsupportedOperationException();
    }

    public void remove(Map<String, String> h, String name) {
      throw new UnsupportedOperationException();
    }
  };

  @Test
  void theCommonCelFormsAreReadExactlyAndAnythingElseIsNot() {
    assertThat(IstioTagExpression.parse("'v1'")).isEqualTo(new IstioTagExpression(IstioTagExpression.Kind.LITERAL, "v1"));
    assertThat(IstioTagExpression.parse("\"v 2\"")).isEqualTo(new IstioTagExpression(IstioTagExpression.Kind.LITERAL, "v 2"));
    // read by the access-log filters' CEL parser: CEL escapes are understood
    assertThat(IstioTagExpression.parse("'it\\'s'")).isEqualTo(new IstioTagExpression(IstioTagExpression.Kind.LITERAL, "it's"));
    assertThat(IstioTagExpression.parse(" request.host ").kind()).isEqualTo(IstioTagExpression.Kind.HOST);
    assertThat(IstioTagExpression.parse("request.headers['X-Team']"))
        .isEqualTo(new IstioTagExpression(IstioTagExpression.Kind.HEADER, "x-team"));
    assertThat(IstioTagExpression.parse("request.headers[\"x-b3\"]").arg()).isEqualTo("x-b3");
    for (String bad : List.of("request.host + 'x'", "'a' + 'b'", "upstream_peer.app", "request.headers[x]",
        "request.headers['a b']", "'it\\'s", "request", "", "has(request.host) ? request.host : 'none'")) {
      assertThat(IstioTagExpression.parse(bad)).as(bad).isNull();
    }
  }

  @Test
  void evaluatedValuesAreBoundedPerExpressionAndMissingOnesAreUnknown() {
    IstioMetricsConfig c = new IstioMetricsConfig(List.of(new IstioMetricsConfig.Override("requests_total", false,
        List.of(), Map.of("path", IstioTagExpression.parse("request.url_path")))));
    long first = c.key(MAP, Map.of(), "GET", "/p0?q=1", null, null);
    for (int i = 1; i < IstioMetricsConfig.MAX_VALUES + 50; i++) {
      c.key(MAP, Map.of(), "GET", "/p" + i, null, null);
    }
    String[] base = {"reporter", "destination"};
    assertThat(c.labels(IstioMetricsConfig.Metric.REQUESTS, base, first)).containsExactly("reporter", "destination",
        "path", "/p0");
    long late = c.key(MAP, Map.of(), "GET", "/p" + (IstioMetricsConfig.MAX_VALUES + 10), null, null);
    assertThat(late).as("past the bound: unknown").isZero();
    assertThat(c.labels(IstioMetricsConfig.Metric.REQUESTS, base, late)).containsExactly("reporter", "destination",
        "path", "unknown");
    assertThat(c.key(MAP, Map.of(), "GET", null, null, null)).isZero();
    assertThat(c.labels(IstioMetricsConfig.Metric.DURATION, base, first)).as("another metric: untouched")
        .isSameAs(base);
  }

  @Test
  void addressesAreEvaluatedAsEnvoysAttributes() {
    Map<String, IstioTagExpression> dims = new java.util.LinkedHashMap<>();
    dims.put("src", IstioTagExpression.parse("source.address"));
    dims.put("port", IstioTagExpression.parse("destination.port"));
    dims.put("host", IstioTagExpression.parse("request.host"));
    IstioMetricsConfig c = new IstioMetricsConfig(List.of(new IstioMetricsConfig.Override("", false, List.of(), dims)));
    assertThat(c.needsAddresses()).isTrue();
    long key = c.key(MAP, Map.of(":authority", "reviews:9080"), "GET", "/", new InetSocketAddress("10.0.0.7", 43210),
        new InetSocketAddress("10.0.0.9", 9080));
    assertThat(String.join(",", c.labels(IstioMetricsConfig.Metric.REQUESTS, new String[0], key)))
        .isEqualTo("src,10.0.0.7:43210,port,9080,host,reviews:9080");
  }

  @Test
  void aDroppedMetricIsNeitherRecordedNorRenderedAndRemovedTagsMergeSeries() {
    StatsRegistry stats = new StatsRegistry();
    IstioDestination d = stats.cluster("inbound|80||").istio;
    IstioMetricsConfig c = stats.istioMetrics(List.of(
        new IstioMetricsConfig.Override("requests_total", true, List.of(), Map.of()),
        new IstioMetricsConfig.Override("", false, List.of("response_code", "request_protocol"), Map.of())));
    assertThat(stats.istioMetrics(List.copyOf(c.overrides))).as("one instance per config").isSameAs(c);
    d.record(c, 0, MeshIdentity.UNKNOWN_IDENTITY, null, 0, 200, -1, ResponseFlag.NONE, 1_000_000, 10, 10);
    d.record(c, 0, MeshIdentity.UNKNOWN_IDENTITY, null, 0, 503, -1, ResponseFlag.NONE, 1_000_000, 10, 10);
    d.record(c, 0, MeshIdentity.UNKNOWN_IDENTITY, null, IstioPeer.GRPC, 200, 0, ResponseFlag.NONE, 1_000_000, 10, 10);
    String text = stats.toPrometheus();
    assertThat(text.lines().filter(l -> l.startsWith("istio_requests_total{"))).isEmpty();
    assertThat(text.lines().filter(l -> l.startsWith("istio_request_duration_milliseconds_count{")))
        .as("three series with two tags removed: two label sets (gRPC status differs)").hasSize(2)
        .noneMatch(l -> l.contains("response_code=") || l.contains("request_protocol="))
        .anyMatch(l -> l.endsWith(" 2"));
    assertThat(d.variants()).singleElement().satisfies(v -> assertThat(v.series()).hasSize(3)
        .allSatisfy(s -> assertThat(s.count.sum()).as("not recorded").isZero()));
  }

  @Test
  void tooManyEvaluatedExpressionsAreRefused() {
    Map<String, IstioTagExpression> seven = new java.util.LinkedHashMap<>();
    for (int i = 0; i < 7; i++) {
      seven.put("h" + i, IstioTagExpression.parse("request.headers['h" + i + "']"));
    }
    assertThatThrownBy(() -> IstioMetricsConfig.check(List.of(new IstioMetricsConfig.Override("", false, List.of(), seven))))
        .hasMessageContaining("7 tag values are evaluated per request; at most 6");
  }
}
