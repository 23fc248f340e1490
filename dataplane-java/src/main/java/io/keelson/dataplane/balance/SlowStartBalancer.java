package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.SlowStartConfig;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * Envoy's slow start for endpoints added to a running cluster: during slow_start_window an endpoint
 * gets only {@code max(min_weight_percent, (age / window)^(1/aggression))} of its share. Done by
 * rejection: a pick of a warming endpoint is kept with that probability, else the policy picks
 * again (a few times). Once every endpoint is past its window the wrapper costs one field read. See
 * {@link LoadBalancer} for threading.
 */
public final class SlowStartBalancer extends WrappingBalancer {
  private static final int REPICKS = 4;

  private final long[] addedAtNanos;
  private final SlowStartConfig config;
  private final LongSupplier clock;
  private final RandomGenerator random;
  private final long warmUntil;
  private boolean warm;

  /**
   * @param addedAtNanos per endpoint (policy order), when it joined the cluster on {@code clock}'s
   *     scale; {@link Long#MIN_VALUE} for endpoints that were there from the start
   */
  public SlowStartBalancer(LoadBalancer policy, long[] addedAtNanos, SlowStartConfig config, LongSupplier clock, RandomGenerator random) {
    super(policy);
    this.addedAtNanos = addedAtNanos.clone();
    this.config = config;
    this.clock = clock;
    this.random = random;
    long until = Long.MIN_VALUE;
    for (long t : addedAtNanos) {
      if (t != Long.MIN_VALUE) {
        until = Math.max(until, t + config.window().toNanos());
      }
    }
    this.warmUntil = until;
  }

  @Override
  public int pick() {
    int chosen = policy.pick();
    if (warm || chosen < 0) {
      return chosen;
    }
    long now = clock.getAsLong();
    if (warmUntil == Long.MIN_VALUE || now - warmUntil >= 0) {
      warm = true;
      return chosen;
    }
    for (int i = 0; i < REPICKS; i++) {
      long added = addedAtNanos[chosen];
      if (added == Long.MIN_VALUE || random.nextDouble() < config.factor(now - added)) {
        return chosen;
      }
      chosen = policy.pick();
    }
    return chosen;
  }

  @Override
  public int pick(long hash) {
    return policy.pick(hash);
  }
}
