package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bounded tables behind ARP resolution and SYN limiting stay bounded and keep working when full. */
class NeighbourAndLimiterTablesTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void arpTableLearnsRefreshesAndReplacesTheStalestWhenFull() {
    ArpTable table = new ArpTable(8);
    for (int i = 1; i <= 200; i++) {
      table.learn(0x0A00_0000 + i, 0x02_00_00_00_00_00L + i, i);
    }
    // Bounded: the most recent addresses are there, with their own MACs; old ones made room.
    int known = 0;
    for (int i = 1; i <= 200; i++) {
      long mac = table.lookup(0x0A00_0000 + i);
      if (mac >= 0) {
        assertThat(mac).isEqualTo(0x02_00_00_00_00_00L + i);
        known++;
      }
    }
    assertThat(known).isBetween(1, 8);
    assertThat(table.lookup(0x0A00_0000 + 200)).isEqualTo(0x02_00_00_00_00_00L + 200);
    table.learn(0x0A00_0000 + 200, 0x02_00_00_00_00_FFL, 300);
    assertThat(table.lookup(0x0A00_0000 + 200)).isEqualTo(0x02_00_00_00_00_FFL);
  }

  @Test
  void arpTableIgnoresGroupAndZeroMacs() {
    ArpTable table = new ArpTable(8);
    table.learn(0x0A00_0001, Ethernet.BROADCAST, 1);
    table.learn(0x0A00_0002, 0x01_00_5E_00_00_01L, 1);
    table.learn(0x0A00_0003, 0, 1);
    assertThat(table.lookup(0x0A00_0001)).isEqualTo(-1);
    assertThat(table.lookup(0x0A00_0002)).isEqualTo(-1);
    assertThat(table.lookup(0x0A00_0003)).isEqualTo(-1);
  }

  @Test
  void whoHasIsRateLimitedPerAddress() {
    ArpTable table = new ArpTable(8);
    assertThat(table.shouldRequest(0x0A00_0001, 0, SECOND)).isTrue();
    assertThat(table.shouldRequest(0x0A00_0001, SECOND / 2, SECOND)).isFalse();
    assertThat(table.shouldRequest(0x0A00_0002, SECOND / 2, SECOND)).as("another address").isTrue();
    assertThat(table.shouldRequest(0x0A00_0001, SECOND, SECOND)).isTrue();
    assertThat(table.lookup(0x0A00_0001)).as("pending is not resolved").isEqualTo(-1);
  }

  @Test
  void synLimiterKeepsWorkingWithMoreSourcesThanItTracks() {
    SynRateLimiter limiter = new SynRateLimiter(8, 1, 1);
    for (int source = 1; source <= 1000; source++) {
      assertThat(limiter.tryAcquire(source, 0)).as("first SYN of source %d", source).isTrue();
    }
    // A source still tracked is limited; its bucket refills at the configured rate.
    assertThat(limiter.tryAcquire(1000, 1)).isFalse();
    assertThat(limiter.tryAcquire(1000, SECOND + 1)).isTrue();
  }

  @Test
  void synLimiterAnswersAsATwoNumberTokenBucketWould() {
    java.util.Random random = new java.util.Random(8);
    for (int round = 0; round < 20; round++) {
      int perSecond = 1 + random.nextInt(500);
      int burst = 1 + random.nextInt(20);
      SynRateLimiter limiter = new SynRateLimiter(64, perSecond, burst);
      long cost = SECOND / perSecond;
      long capacity = cost * burst;
      long credit = capacity; // the reference: credit in nanoseconds of refill, capped at the capacity
      long last = 0;
      long now = -5 * SECOND + random.nextInt(1_000_000); // System.nanoTime may be negative
      last = now;
      for (int syn = 0; syn < 2_000; syn++) {
        now += random.nextInt(3) == 0 ? random.nextLong(3 * cost) : random.nextLong(cost / 4 + 1);
        credit = Math.min(capacity, credit + (now - last));
        last = now;
        boolean expected = credit >= cost;
        if (expected) {
          credit -= cost;
        }
        assertThat(limiter.tryAcquire(0x0A00_0007, now)).as("round %d, SYN %d at %d ns", round, syn, now)
            .isEqualTo(expected);
      }
    }
  }

  @Test
  void synLimiterTracksAddressZeroAsASource() {
    SynRateLimiter limiter = new SynRateLimiter(8, 1, 1);
    assertThat(limiter.tryAcquire(0, 0)).isTrue();
    assertThat(limiter.tryAcquire(0, 1)).as("0.0.0.0's bucket is empty now").isFalse();
  }
}
