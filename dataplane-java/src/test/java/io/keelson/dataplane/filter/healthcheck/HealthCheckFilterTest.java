package io.keelson.dataplane.filter.healthcheck;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.RecordedConfigErrors;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.StatsRegistry;
import org.junit.jupiter.api.Test;

class HealthCheckFilterTest {
  private final StatsRegistry stats = new StatsRegistry();
  private final RecordedConfigErrors sink = new RecordedConfigErrors();

  private HttpFilter filter(boolean passThrough) {
    HealthCheck c = HealthCheck.newBuilder().setPassThroughMode(com.google.protobuf.BoolValue.of(passThrough))
        .addHeaders(HeaderMatcher.newBuilder().setName(":path").setStringMatch(StringMatcher.newBuilder().setExact("/healthz")))
        .build();
    var factory = new HealthCheckFilterFactory();
    return factory.create(factory.translate(c, "hc", sink), FilterResources.of(stats, "p"));
  }

  private static FilterContext run(HttpFilter f, String path) {
    FilterContext c = new FilterContext();
    c.head = TestRequest.get(path);
    f.onRequest(c);
    return c;
  }

  @Test
  void answersAMatchingRequestItselfAndLetsOthersThrough() {
    HttpFilter f = filter(false);
    FilterContext hc = run(f, "/healthz");
    assertThat(hc.hasLocalReply()).isTrue();
    assertThat(hc.status()).isEqualTo(200);
    assertThat(run(f, "/healthz/deeper").hasLocalReply()).isFalse();
    assertThat(run(f, "/").hasLocalReply()).isFalse();
  }

  @Test
  void failsHealthChecksWhileFailedOrDrainingAndMarksOtherResponses() {
    HttpFilter f = filter(false);
    stats.server().failHealthCheck(true);
    assertThat(run(f, "/healthz").status()).isEqualTo(503);
    FilterContext other = run(f, "/api");
    assertThat(other.hasLocalReply()).isFalse();
    assertThat(other.responseHeaders()).isEqualTo("x-envoy-immediate-health-check-fail: true\r\n");
    stats.server().failHealthCheck(false);
    assertThat(run(f, "/healthz").status()).isEqualTo(200);
    stats.server().startDraining();
    assertThat(run(f, "/healthz").status()).isEqualTo(503);
  }

  @Test
  void passThroughForwardsUnlessFailed() {
    HttpFilter f = filter(true);
    assertThat(run(f, "/healthz").hasLocalReply()).isFalse();
    stats.server().failHealthCheck(true);
    assertThat(run(f, "/healthz").status()).isEqualTo(503);
  }

  @Test
  void passThroughModeIsRequired() {
    var factory = new HealthCheckFilterFactory();
    assertThat(factory.translate(HealthCheck.getDefaultInstance(), "hc", sink)).isNull();
    assertThat(sink.errors).containsExactly("hc.pass_through_mode: pass_through_mode is required (Envoy requires it too); expected"
        + " true or false");
  }
}
