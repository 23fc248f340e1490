package io.keelson.dataplane.filter.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalRateLimitFilterTest {
  private final StatsRegistry stats = new StatsRegistry();
  private final AtomicLong now = new AtomicLong();

  private HttpFilter filter(Percent enabled, Percent enforced, boolean xHeaders) {
    var config = new LocalRateLimitConfig("rl", 429, 3, 1, Duration.ofSeconds(1), enabled, enforced, "x-extra: yes\r\n", xHeaders);
    return new LocalRateLimitFactory().create(config, new FilterResources(stats, "ingress", now::get, FilterRandom.DEFAULT));
  }

  private static FilterContext run(HttpFilter f) {
    FilterContext c = new FilterContext();
    c.head = TestRequest.get("/");
    f.onRequest(c);
    return c;
  }

  @Test
  void rejectsExactlyTheRequestsBeyondTheBucketWithEnvoysReply() {
    HttpFilter f = filter(Percent.ALL, Percent.ALL, false);
    for (int i = 0; i < 3; i++) {
      assertThat(run(f).hasLocalReply()).isFalse();
    }
    FilterContext limited = run(f);
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.body()).isEqualTo("local_rate_limited");
    assertThat(limited.replyHeaders()).contains("x-envoy-ratelimited: true\r\n").contains("x-extra: yes\r\n");
    assertThat(limited.flag()).isEqualTo(ResponseFlag.RL);
    now.addAndGet(1_000_000_000L);
    assertThat(run(f).hasLocalReply()).as("one token after one interval").isFalse();
    assertThat(run(f).hasLocalReply()).isTrue();
    assertThat(stats.counter("rl.http_local_rate_limit.ok").sum()).isEqualTo(4);
    assertThat(stats.counter("rl.http_local_rate_limit.rate_limited").sum()).isEqualTo(2);
    assertThat(stats.counter("rl.http_local_rate_limit.enforced").sum()).isEqualTo(2);
  }

  @Test
  void disabledByDefaultAndCountOnlyWhenNotEnforced() {
    HttpFilter off = filter(Percent.NONE, Percent.NONE, false);
    for (int i = 0; i < 10; i++) {
      assertThat(run(off).hasLocalReply()).isFalse();
    }
    assertThat(stats.counter("rl.http_local_rate_limit.enabled").sum()).isZero();
    HttpFilter shadow = filter(Percent.ALL, Percent.NONE, false);
    for (int i = 0; i < 10; i++) {
      assertThat(run(shadow).hasLocalReply()).isFalse();
    }
    assertThat(stats.counter("rl.http_local_rate_limit.rate_limited").sum()).isEqualTo(7);
    assertThat(stats.counter("rl.http_local_rate_limit.enforced").sum()).isZero();
  }

  @Test
  void addsDraft03RateLimitHeadersWhenEnabled() {
    HttpFilter f = filter(Percent.ALL, Percent.ALL, true);
    now.addAndGet(250_000_000L);
    FilterContext c = run(f);
    assertThat(c.responseHeaders()).isEqualTo("x-ratelimit-limit: 3\r\nx-ratelimit-remaining: 2\r\nx-ratelimit-reset: 1\r\n");
  }
}
