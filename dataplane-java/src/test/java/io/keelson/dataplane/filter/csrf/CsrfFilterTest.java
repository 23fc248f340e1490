package io.keelson.dataplane.filter.csrf;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.route.ValueMatch;
import io.keelson.dataplane.stats.StatsRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CSRF decision on request heads, with Envoy's csrf_filter_test.cc cases and counts. */
class CsrfFilterTest {
  private final StatsRegistry stats = new StatsRegistry();

  private FilterContext run(CsrfConfig config, TestRequest request) {
    FilterContext c = new FilterContext();
    c.head = request;
    new CsrfFilterFactory().create(config, new FilterResources(stats, "t", System::nanoTime, bound -> 0)).onRequest(c);
    return c;
  }

  private static CsrfConfig enforced(ValueMatch... origins) {
    return new CsrfConfig(Percent.ALL, null, List.of(origins));
  }

  private long count(String name) {
    return stats.counter("http.t.csrf." + name).sum();
  }

  @Test
  void aMutatingRequestWithoutOriginIsRefusedAndCountedMissing() {
    FilterContext c = run(enforced(), TestRequest.request("PUT", "/", null));
    assertThat(c.status()).isEqualTo(403);
    assertThat(c.body()).isEqualTo("Invalid origin");
    // Envoy's RequestWithoutOrigin: no host either, so the empty source equals the empty target
    assertThat(count("missing_source_origin")).isEqualTo(1);
    assertThat(count("request_invalid")).isZero();
    assertThat(count("request_valid")).isZero();
  }

  @Test
  void aRequestWithoutDestinationIsRefused() {
    FilterContext c = run(enforced(), TestRequest.request("PUT", "/", null).header("origin", "localhost"));
    assertThat(c.status()).isEqualTo(403);
    assertThat(count("request_invalid")).isEqualTo(1);
    assertThat(count("missing_source_origin")).isZero();
  }

  @Test
  void sameHostAndPortIsValidWhateverTheScheme() {
    FilterContext c = run(enforced(), TestRequest.request("DELETE", "/", "localhost:8080").header("origin", "https://localhost:8080"));
    assertThat(c.hasLocalReply()).isFalse();
    c = run(enforced(), TestRequest.request("PATCH", "/", "localhost").header("referer", "http://localhost/form?x=1"));
    assertThat(c.hasLocalReply()).isFalse();
    c = run(enforced(), TestRequest.request("POST", "/", "localhost").header("origin", "http://localhost:80"));
    assertThat(c.status()).as("the port is compared as written").isEqualTo(403);
    assertThat(count("request_valid")).isEqualTo(2);
    assertThat(count("request_invalid")).isEqualTo(1);
  }

  @Test
  void additionalOriginsMatchTheSourceHostAndPortAndOtherMethodsPassUncounted() {
    CsrfConfig c = enforced(ValueMatch.suffix(".example.com", false));
    assertThat(run(c, TestRequest.request("POST", "/", "h").header("origin", "https://a.example.com/x")).hasLocalReply()).isFalse();
    assertThat(run(c, TestRequest.request("POST", "/", "h").header("origin", "https://example.com.evil")).status()).isEqualTo(403);
    assertThat(run(c, TestRequest.request("GET", "/", "h").header("origin", "https://evil")).hasLocalReply()).isFalse();
    assertThat(run(c, TestRequest.request("OPTIONS", "/", "h").header("origin", "https://evil")).hasLocalReply()).isFalse();
    assertThat(count("request_valid") + count("request_invalid")).isEqualTo(2);
  }

  @Test
  void shadowModeCountsWithoutRefusingAndDisabledDoesNothing() {
    CsrfConfig shadow = new CsrfConfig(Percent.NONE, Percent.ALL, List.of());
    assertThat(run(shadow, TestRequest.request("POST", "/", "h").header("origin", "https://evil")).hasLocalReply()).isFalse();
    assertThat(count("request_invalid")).isEqualTo(1);
    CsrfConfig off = new CsrfConfig(Percent.NONE, null, List.of());
    assertThat(run(off, TestRequest.request("POST", "/", "h").header("origin", "https://evil")).hasLocalReply()).isFalse();
    assertThat(count("request_invalid")).isEqualTo(1);
  }
}
