package io.keelson.dataplane.filter.connlimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class ConnectionLimiterTest {
  private final LongAdder limited = new LongAdder();
  private final AtomicLong active = new AtomicLong();

  private ConnectionLimiter limiter(long max, Duration delay, boolean enabled) {
    return new ConnectionLimiter(new ConnectionLimitConfig("cl", max, delay, enabled), limited, active);
  }

  @Test
  void admitsUpToMaxAndClosesTheNextUntilOneCloses() {
    ConnectionLimiter l = limiter(2, Duration.ZERO, true);
    EmbeddedChannel a = new EmbeddedChannel();
    EmbeddedChannel b = new EmbeddedChannel();
    EmbeddedChannel c = new EmbeddedChannel();
    assertThat(l.admit(a)).isTrue();
    assertThat(l.admit(b)).isTrue();
    assertThat(active.get()).isEqualTo(2);
    assertThat(l.admit(c)).isFalse();
    assertThat(c.isOpen()).isFalse();
    assertThat(limited.sum()).isEqualTo(1);
    assertThat(active.get()).isEqualTo(2);
    a.close();
    assertThat(active.get()).isEqualTo(1);
    EmbeddedChannel d = new EmbeddedChannel();
    assertThat(l.admit(d)).isTrue();
    assertThat(active.get()).isEqualTo(2);
  }

  @Test
  void aDelayClosesTheRefusedConnectionOnlyWhenItHasPassed() {
    ConnectionLimiter l = limiter(1, Duration.ofSeconds(2), true);
    assertThat(l.admit(new EmbeddedChannel())).isTrue();
    EmbeddedChannel over = new EmbeddedChannel();
    assertThat(l.admit(over)).isFalse();
    assertThat(limited.sum()).isEqualTo(1);
    assertThat(over.config().isAutoRead()).isFalse();
    over.advanceTimeBy(1, TimeUnit.SECONDS);
    over.runScheduledPendingTasks();
    assertThat(over.isOpen()).isTrue();
    over.advanceTimeBy(1, TimeUnit.SECONDS);
    over.runScheduledPendingTasks();
    assertThat(over.isOpen()).isFalse();
  }

  @Test
  void aDisabledFilterAdmitsEverythingUncounted() {
    ConnectionLimiter l = limiter(1, Duration.ZERO, false);
    assertThat(l.admit(new EmbeddedChannel())).isTrue();
    assertThat(l.admit(new EmbeddedChannel())).isTrue();
    assertThat(active.get()).isZero();
    assertThat(limited.sum()).isZero();
  }
}
