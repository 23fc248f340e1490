package io.keelson.dataplane.filter.netratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class NetworkLocalRateLimitTest {
  private static final TokenBucketSpec TWO_PER_HOUR = new TokenBucketSpec(2, 1, Duration.ofHours(1));

  @Test
  void aConnectionWithoutATokenIsClosedAndCounted() {
    StatsRegistry stats = new StatsRegistry();
    var gate = new NetworkLocalRateLimitConfig("lr", TWO_PER_HOUR, true, "").compile(stats);
    assertThat(gate.admit(new EmbeddedChannel())).isTrue();
    assertThat(gate.admit(new EmbeddedChannel())).isTrue();
    EmbeddedChannel third = new EmbeddedChannel();
    assertThat(gate.admit(third)).isFalse();
    assertThat(third.isOpen()).isFalse();
    assertThat(stats.counter("local_ratelimit.lr.rate_limited").sum()).isEqualTo(1);
  }

  @Test
  void chainsWithTheSameShareKeyTakeFromOneBucketAndOthersFromTheirOwn() {
    StatsRegistry stats = new StatsRegistry();
    String key = "k-" + System.nanoTime();
    var one = new NetworkLocalRateLimitConfig("a", TWO_PER_HOUR, true, key).compile(stats);
    var two = new NetworkLocalRateLimitConfig("b", TWO_PER_HOUR, true, key).compile(stats);
    var own = new NetworkLocalRateLimitConfig("c", TWO_PER_HOUR, true, "").compile(stats);
    assertThat(one.admit(new EmbeddedChannel())).isTrue();
    assertThat(two.admit(new EmbeddedChannel())).isTrue();
    assertThat(one.admit(new EmbeddedChannel())).isFalse();
    assertThat(own.admit(new EmbeddedChannel())).isTrue();
  }

  @Test
  void runtimeEnabledFalseAdmitsEverything() {
    StatsRegistry stats = new StatsRegistry();
    var gate = new NetworkLocalRateLimitConfig("lr", new TokenBucketSpec(1, 1, Duration.ofHours(1)), false, "").compile(stats);
    for (int i = 0; i < 3; i++) {
      assertThat(gate.admit(new EmbeddedChannel())).isTrue();
    }
    assertThat(stats.counter("local_ratelimit.lr.rate_limited").sum()).isZero();
  }
}
