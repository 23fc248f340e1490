package io.keelson.dataplane.gateway;

import io.keelson.dataplane.hw.IdleProfile;
import java.util.concurrent.locks.LockSupport;

/**
 * What a poller does after a {@code doWork()} (Agrona's contract): nothing when there was work,
 * otherwise spin, yield or park with exponential backoff, as the hardware profile says.
 *
 * <p>Threading: one instance per agent thread.
 */
final class IdleStrategy {
  private final IdleProfile profile;
  private long spins;
  private long yields;
  private long parkNanos;

  IdleStrategy(IdleProfile profile) {
    this.profile = profile;
    reset();
  }

  void idle(int workCount) {
    if (workCount > 0) {
      reset();
      return;
    }
    switch (profile.strategy()) {
      case SPIN -> Thread.onSpinWait();
      case YIELD -> Thread.yield();
      case PARK -> backoff();
    }
  }

  private void backoff() {
    if (spins < profile.maxSpins()) {
      spins++;
      Thread.onSpinWait();
    } else if (yields < profile.maxYields()) {
      yields++;
      Thread.yield();
    } else {
      LockSupport.parkNanos(parkNanos);
      parkNanos = Math.min(parkNanos << 1, profile.maxParkNanos());
    }
  }

  void reset() {
    spins = 0;
    yields = 0;
    parkNanos = profile.minParkNanos();
  }
}
