package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Envoy's request headers {@code x-envoy-upstream-rq-timeout-ms} and {@code x-envoy-upstream-rq-per-try-timeout-ms}:
 * from an internal client (here loopback, by internal_address_config) they set the request's route and per-try
 * timeouts and are not forwarded, over HTTP/1.1 and HTTP/2 through a real proxy and upstream. An external client's
 * are removed before the router reads them: see {@code edge.EdgeHeadersTest}.
 */
class TimeoutHeadersTest {
  private static final String TIMEOUT = TimeoutHeaders.UPSTREAM_RQ_TIMEOUT_MS;
  private static final String PER_TRY = TimeoutHeaders.UPSTREAM_RQ_PER_TRY_TIMEOUT_MS;

  @Test
  void valuesAreWholeMillisecondsAsEnvoyParsesThem() {
    assertThat(TimeoutHeaders.millis("100")).isEqualTo(100);
    assertThat(TimeoutHeaders.millis(" 250 ")).isEqualTo(250);
    assertThat(TimeoutHeaders.millis("+5")).isEqualTo(5);
    assertThat(TimeoutHeaders.millis("0")).isZero();
    for (String bad : new String[] {null, "", "+", "-1", "1.5", "10ms", "abc", "99999999999999999999"}) {
      assertThat(TimeoutHeaders.millis(bad)).as(bad).isEqualTo(-1);
    }
  }

  @Test
  void theHeadersReplaceTheRoutesTimeoutsAndAPerTryTimeoutNotBelowTheRouteTimeoutIsDropped() {
    RouteAction.Forward route = RouteAction.Forward.toCluster("c", Duration.ofSeconds(10));
    assertThat(TimeoutHeaders.apply(route, null, null)).isSameAs(route);
    assertThat(TimeoutHeaders.apply(route, "x", "y")).as("malformed values are ignored").isSameAs(route);
    RouteAction.Forward shorter = TimeoutHeaders.apply(route, "250", null);
    assertThat(shorter.timeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(shorter.retryPolicy()).isNull();
    RouteAction.Forward perTry = TimeoutHeaders.apply(route, null, "100");
    assertThat(perTry.timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(perTry.retryPolicy().perTryTimeout()).isEqualTo(Duration.ofMillis(100));
    assertThat(perTry.retryPolicy().numRetries()).as("one try, no retries").isZero();
    assertThat(TimeoutHeaders.apply(route, "100", "100").retryPolicy().perTryTimeout()).isZero();
    assertThat(TimeoutHeaders.apply(route, "0", "100").retryPolicy().perTryTimeout())
        .as("no route timeout: any per-try timeout is below it").isEqualTo(Duration.ofMillis(100));
    RetryPolicy retries = new RetryPolicy(RetryPolicy.RETRY_ON_5XX, 2, Duration.ZERO, Duration.ofMillis(25),
        Duration.ofMillis(250), new int[0], false, 1, RetryPolicy.DEFAULT_BUFFER_LIMIT_BYTES);
    RouteAction.Forward withRetries = new RouteAction.Forward(route.clusters(), 1, null, null, null,
        Duration.ofSeconds(10), retries, false, null, null, null);
    RetryPolicy merged = TimeoutHeaders.apply(withRetries, null, "300").retryPolicy();
    assertThat(merged.numRetries()).isEqualTo(2);
    assertThat(merged.retryOn()).isEqualTo(RetryPolicy.RETRY_ON_5XX);
    assertThat(merged.perTryTimeout()).isEqualTo(Duration.ofMillis(300));
  }

  private record Reply(int status, long millis) {}

  private static Reply get(ProxyHarness proxy, boolean h2, String path, String... headers) throws Exception {
    long start = System.nanoTime();
    if (!h2) {
      HttpResponse<String> r = proxy.get(path, headers);
      return new Reply(r.statusCode(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }
    try (H2Client client = new H2Client(proxy.port())) {
      DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
      for (int i = 0; i < headers.length; i += 2) {
        req.headers().set(headers[i], headers[i + 1]);
      }
      FullHttpResponse r = client.send(req).get(10, TimeUnit.SECONDS);
      try {
        return new Reply(r.status().code(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      } finally {
        r.release();
      }
    }
  }

  @ParameterizedTest(name = "h2={0}")
  @ValueSource(booleans = {false, true})
  void theRequestsTimeoutHeadersBoundItsTriesAndAreNotForwarded(boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(ResilienceConfigs.loopbackInternal(bootstrap(routes(""), cluster("", up.port()))),
            PipelineMode.INLINE)) {
      Reply shortened = get(proxy, h2, "/delay/3000", TIMEOUT, "200");
      assertThat(shortened.status()).as("the route's 10 s became 200 ms").isEqualTo(504);
      assertThat(shortened.millis()).isLessThan(2_500);
      Reply oneTry = get(proxy, h2, "/delay/3000", PER_TRY, "200");
      assertThat(oneTry.status()).as("a per-try timeout without a retry policy bounds the one try").isEqualTo(504);
      assertThat(oneTry.millis()).isLessThan(2_500);
      int before = up.requests.get();
      assertThat(get(proxy, h2, "/", TIMEOUT, "5000", PER_TRY, "1000").status()).isEqualTo(200);
      assertThat(up.requests.get()).isEqualTo(before + 1);
      assertThat(up.lastHeaders).doesNotContainKeys(TIMEOUT, PER_TRY)
          .as("the per-try timeout is what the upstream may expect").containsEntry("x-envoy-expected-rq-timeout-ms", "1000");
    }
  }

  @ParameterizedTest(name = "h2={0}")
  @ValueSource(booleans = {false, true})
  void zeroLiftsTheRouteTimeout(boolean h2) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(ResilienceConfigs.loopbackInternal(bootstrap(
            routes("").replace("timeout: 10s", "timeout: 0.3s"), cluster("", up.port()))), PipelineMode.INLINE)) {
      assertThat(get(proxy, h2, "/delay/800").status()).as("the route's 300 ms").isEqualTo(504);
      assertThat(get(proxy, h2, "/delay/800", TIMEOUT, "0").status()).as("no timeout for this request").isEqualTo(200);
      assertThat(get(proxy, h2, "/delay/800", TIMEOUT, "soon").status()).as("a malformed value is ignored").isEqualTo(504);
      assertThat(up.lastHeaders).doesNotContainKey(TIMEOUT);
    }
  }
}
