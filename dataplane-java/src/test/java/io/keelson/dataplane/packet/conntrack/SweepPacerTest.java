package io.keelson.dataplane.packet.conntrack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SweepPacerTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void aBusyGatewayPassesOverItsFlowsOncePerSecondNotOncePerFewBursts() {
    SweepPacer pacer = new SweepPacer();
    long now = 5 * SECOND;
    long firstSecond = pacer.slots(now, 3_840, 64); // the first burst owes one pass
    for (int burst = 0; burst < 333_333; burst++) { // a burst every 3 µs
      now += 3_000;
      firstSecond += pacer.slots(now, 3_840, 64);
    }
    assertThat(firstSecond).as("the pass owed at the start, then one per second").isBetween(7_670L, 7_680L);
    long total = 0;
    int most = 0;
    for (int burst = 0; burst < 333_333; burst++) { // the next second, caught up
      now += 3_000;
      int n = pacer.slots(now, 3_840, 64);
      total += n;
      most = Math.max(most, n);
    }
    assertThat(total).isBetween(3_838L, 3_841L);
    assertThat(most).isEqualTo(1); // 64 per burst used to mean a pass every 60 bursts
  }

  @Test
  void theBoundPerBurstHoldsAndOwedWorkCatchesUpAfterIt() {
    SweepPacer pacer = new SweepPacer();
    pacer.shortestTimeout(4_000_000); // a 1 ms pass
    long now = 0;
    pacer.slots(now, 262_144, 64);
    long total = 0;
    for (int burst = 0; burst < 10_000; burst++) { // 10 ms of bursts every µs: 10 passes owed
      now += 1_000;
      int n = pacer.slots(now, 262_144, 64);
      assertThat(n).isLessThanOrEqualTo(64);
      total += n;
    }
    assertThat(total).isEqualTo(10_000L * 64); // behind all along: every burst took the bound
  }

  @Test
  void anIdleGapOwesAtMostOnePass() {
    SweepPacer pacer = new SweepPacer();
    pacer.slots(0, 1_000, 64);
    long total = 0;
    long now = 3_600 * SECOND; // an hour without a burst
    for (int burst = 0; burst < 100; burst++) {
      total += pacer.slots(now, 1_000, 64);
      now += 1; // then bursts 1 ns apart: almost nothing more is owed
    }
    assertThat(total).isEqualTo(1_000L);
  }

  @Test
  void aClockStepBackwardsOwesNothingNew() {
    SweepPacer pacer = new SweepPacer();
    assertThat(pacer.slots(10 * SECOND, 100, 64)).isEqualTo(64); // the first pass, bounded
    assertThat(pacer.slots(SECOND, 100, 64)).isEqualTo(36); // the rest of it; the step back adds nothing
    assertThat(pacer.slots(SECOND, 100, 64)).isZero();
  }

  @Test
  void thePassFollowsTheShortestTimeoutUpToOneSecond() {
    SweepPacer pacer = new SweepPacer();
    assertThat(pacer.passNanos()).isEqualTo(SECOND);
    pacer.shortestTimeout(10 * SECOND);
    assertThat(pacer.passNanos()).isEqualTo(SECOND);
    pacer.shortestTimeout(2 * SECOND);
    assertThat(pacer.passNanos()).isEqualTo(SECOND / 2);
    assertThatThrownBy(() -> pacer.shortestTimeout(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("shortest idle timeout");
  }

  @Test
  void anEmptyTableOwesNothing() {
    SweepPacer pacer = new SweepPacer();
    assertThat(pacer.slots(0, 0, 64)).isZero();
    assertThat(pacer.slots(SECOND, 0, 64)).isZero();
    assertThat(pacer.slots(2 * SECOND, 10, 64)).isEqualTo(10);
  }
}
