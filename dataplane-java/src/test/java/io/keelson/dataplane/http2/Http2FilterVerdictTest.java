package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.FilterChainProxySuite;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The HTTP filters' delays and extra response headers on HTTP/2 streams (fault delay, local rate limit headers). */
class Http2FilterVerdictTest {
  /** Header-controlled fault delay and abort, a listener-wide bucket; a per-route bucket of 3 with its headers on /limited. */
  private static final String FILTERS = FilterChainProxySuite.FILTERS;
  private static final String VHOSTS = FilterChainProxySuite.VHOSTS;

  private static FullHttpResponse get(H2Client client, String path, String... headers) throws Exception {
    DefaultFullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    for (int i = 0; i < headers.length; i += 2) {
      r.headers().set(headers[i], headers[i + 1]);
    }
    return client.send(r).get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFaultDelayHoldsTheStreamThenForwardsIt() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()),
            FILTERS), PipelineMode.DISRUPTOR);
        H2Client client = new H2Client(proxy.port())) {
      long start = System.nanoTime();
      FullHttpResponse r = get(client, "/x", "x-envoy-fault-delay-request", "400");
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertThat(r.status().code()).isEqualTo(200);
      r.release();
      assertThat(tookMs).isGreaterThanOrEqualTo(400);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.admin("/stats")).contains("http.ingress_http.fault.delays_injected: 1");
    }
  }

  @Test
  void rateLimitHeadersAreAddedToForwardedResponsesAndTheLocalReply() throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(VHOSTS, ProxyHarness.cluster("a", "ROUND_ROBIN", a.port()),
            FILTERS), PipelineMode.INLINE);
        H2Client client = new H2Client(proxy.port())) {
      for (int i = 0; i < 3; i++) {
        FullHttpResponse ok = get(client, "/limited/" + i);
        assertThat(ok.status().code()).isEqualTo(200);
        assertThat(ok.headers().get("x-ratelimit-limit")).isEqualTo("3");
        assertThat(ok.headers().get("x-ratelimit-remaining")).isEqualTo(Integer.toString(2 - i));
        ok.release();
      }
      FullHttpResponse limited = get(client, "/limited/x");
      assertThat(limited.status().code()).isEqualTo(429);
      assertThat(limited.headers().get("x-envoy-ratelimited")).isEqualTo("true");
      assertThat(limited.headers().get("x-limited-by")).isEqualTo("keelson");
      assertThat(limited.content().toString(StandardCharsets.UTF_8)).isEqualTo("local_rate_limited");
      limited.release();
      assertThat(a.requests.get()).isEqualTo(3);
    }
  }
}
