package io.keelson.dataplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final long MS = 1_000_000;

  @Test
  void doublesWithJitterUpToTheBoundAndStartsOverAfterAReset() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofMillis(1000));
    long[] ceilings = {100, 200, 400, 800, 1000, 1000, 1000};
    for (long ceiling : ceilings) {
      assertThat(backoff.nextDelayNanos()).isBetween(ceiling * MS / 2, ceiling * MS);
    }
    for (int i = 0; i < 100; i++) {
      assertThat(backoff.nextDelayNanos()).isBetween(500 * MS, 1000 * MS); // no overflow after many attempts
    }
    backoff.reset();
    assertThat(backoff.nextDelayNanos()).isBetween(50 * MS, 100 * MS);
  }
}
