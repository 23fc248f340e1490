package io.keelson.dataplane.filter.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(123_456_789L);

  @Test
  void startsFullThenRefillsTokensPerFillEachIntervalUpToMax() {
    TokenBucket b = new TokenBucket(5, 2, SECOND, now::get);
    for (int i = 0; i < 5; i++) {
      assertThat(b.tryAcquire()).isTrue();
    }
    assertThat(b.tryAcquire()).isFalse();
    now.addAndGet(SECOND - 1);
    assertThat(b.tryAcquire()).as("interval not over").isFalse();
    now.addAndGet(1);
    assertThat(b.tryAcquire()).isTrue();
    assertThat(b.tryAcquire()).isTrue();
    assertThat(b.tryAcquire()).isFalse();
    now.addAndGet(100 * SECOND);
    assertThat(b.remaining()).as("capped at max_tokens").isEqualTo(5);
  }

  @Test
  void acquireUpToTakesWhatIsThereAndNothingWhenEmpty() {
    TokenBucket b = new TokenBucket(1000, 100, SECOND, now::get);
    assertThat(b.acquireUpTo(300)).isEqualTo(300);
    assertThat(b.acquireUpTo(5000)).as("only what is left").isEqualTo(700);
    assertThat(b.acquireUpTo(1)).isZero();
    now.addAndGet(2 * SECOND);
    assertThat(b.acquireUpTo(1000)).isEqualTo(200);
    assertThat(b.remaining()).isZero();
  }

  @Test
  void refillsLazilyForEveryIntervalPassed() {
    TokenBucket b = new TokenBucket(10, 1, SECOND, now::get);
    for (int i = 0; i < 10; i++) {
      b.tryAcquire();
    }
    now.addAndGet(3 * SECOND + SECOND / 2);
    assertThat(b.remaining()).isEqualTo(3);
    assertThat(b.nanosToNextFill()).isEqualTo(SECOND / 2);
  }

  @Test
  void threadsSharingTheBucketNeverTakeMoreThanItHolds() throws Exception {
    TokenBucket b = new TokenBucket(10_000, 1, 3600 * SECOND, now::get);
    AtomicInteger taken = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 5_000; i++) {
          if (b.tryAcquire()) {
            taken.incrementAndGet();
          }
        }
      });
      threads[t].start();
    }
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    assertThat(taken.get()).isEqualTo(10_000);
  }
}
