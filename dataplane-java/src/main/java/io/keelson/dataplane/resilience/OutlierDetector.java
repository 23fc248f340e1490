package io.keelson.dataplane.resilience;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.config.OutlierDetectionConfig;
import io.keelson.dataplane.stats.ClusterStats;
import io.keelson.dataplane.stats.ClusterStats.EjectionType;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Envoy's outlier detection for one cluster: consecutive 5xx and consecutive gateway failures eject an
 * endpoint as soon as they happen, and so, with split_external_local_origin_errors, do consecutive local-origin
 * failures (no response: connect failure, timeout, reset), which then count apart from the responses; success rate (mean minus stdev_factor standard deviations) and
 * failure percentage eject at the end of each interval. An ejection lasts base_ejection_time × the
 * number of times the endpoint was ejected (capped by max_ejection_time); the count falls by one for
 * each interval the endpoint stays in. At most max_ejection_percent of the endpoints are ejected at once
 * (checked before ejecting, as Envoy does, so one of a small cluster can always go).
 *
 * <p>There is no timer thread: the interval and the un-ejections are evaluated by whichever thread
 * reports an outcome once their time has come (one volatile read per report otherwise), on the
 * injected clock. Thread-safe: outcome counters are atomics; ejection decisions take this object's lock.
 */
public final class OutlierDetector {
  private static final long NONE = Long.MAX_VALUE;

  private final OutlierDetectionConfig config;
  private final EndpointHealth[] health;
  private final ClusterStats stats;
  private final LongSupplier clock;
  private final SplittableRandom random = new SplittableRandom();
  private final AtomicInteger[] consecutive5xx;
  private final AtomicInteger[] consecutiveGateway;
  /** Consecutive local-origin failures (split_external_local_origin_errors only). */
  private final AtomicInteger[] consecutiveLocal;
  /** Per-interval counts: LongAdders, since every event loop reports to the same endpoint. */
  private final LongAdder[] requests;
  private final LongAdder[] failures;
  private final long intervalNanos;
  private final long baseEjectionNanos;
  private final long maxEjectionNanos;
  /**
   * Whether success rate or failure percentage can ever act on this cluster: false when it has fewer
   * endpoints than both minimum_hosts settings, and then responses are not counted at all.
   */
  private final boolean countsRequests;
  /**
   * When the next interval ends, or the earliest un-ejection, whichever is sooner; {@link #NONE} when
   * nothing is due (nothing counted, ejected, or remembered as ejected), so a report reads no clock.
   */
  private volatile long nextWork;
  private long nextInterval;
  private int ejected;

  /**
   * @param health one per endpoint, in the balancer's order; ejections already recorded there (from an
   *               earlier snapshot of the cluster) are honoured
   * @param clock  nanoseconds, {@code System::nanoTime} in production
   */
  public OutlierDetector(OutlierDetectionConfig config, EndpointHealth[] health, ClusterStats stats, LongSupplier clock) {
    this.config = config;
    this.health = health.clone();
    this.stats = stats;
    this.clock = clock;
    int n = health.length;
    consecutive5xx = new AtomicInteger[n];
    consecutiveGateway = new AtomicInteger[n];
    consecutiveLocal = new AtomicInteger[n];
    requests = new LongAdder[n];
    failures = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      consecutive5xx[i] = new AtomicInteger();
      consecutiveGateway[i] = new AtomicInteger();
      consecutiveLocal[i] = new AtomicInteger();
      requests[i] = new LongAdder();
      failures[i] = new LongAdder();
    }
    intervalNanos = Math.max(1, config.interval().toNanos());
    baseEjectionNanos = config.baseEjectionTime().toNanos();
    maxEjectionNanos = Math.max(baseEjectionNanos, config.maxEjectionTime().toNanos());
    countsRequests = n >= Math.min(Math.max(1, config.successRateMinimumHosts()), Math.max(1, config.failurePercentageMinimumHosts()));
    long now = clock.getAsLong();
    synchronized (this) {
      nextInterval = now + intervalNanos;
      for (EndpointHealth h : health) {
        if (h.has(EndpointHealth.EJECTED)) {
          ejected++;
        }
      }
      nextWork = nextDue();
    }
  }

  /** When timers must next run (see {@link #nextWork}); under the lock. */
  private long nextDue() {
    boolean intervalMatters = countsRequests;
    long next = NONE;
    for (EndpointHealth h : health) {
      if (h.has(EndpointHealth.EJECTED)) {
        next = Math.min(next, h.ejectedUntilNanos);
      } else if (h.timesEjected > 0) {
        intervalMatters = true; // its ejection count falls by one per interval
      }
    }
    return intervalMatters || next != NONE ? Math.min(next, nextInterval) : NONE;
  }

  /** A response from endpoint {@code index}: 5xx counts as a failure, anything else as a success. */
  public void onResponse(int index, int status) {
    onResponse(index, status, clock.getAsLong());
  }

  /**
   * As {@link #onResponse(int, int)}, with a clock reading the caller already has (the request's start,
   * on the detector's clock, never ahead of it), so the report reads no clock: it only decides whether
   * timers may be due; they then run on a fresh reading. A stale hint delays them by at most its age.
   */
  public void onResponse(int index, int status, long nanosHint) {
    if (config.splitExternalLocalOriginErrors() && consecutiveLocal[index].get() != 0) {
      consecutiveLocal[index].set(0); // a response: the connection to it worked
    }
    if (countsRequests) {
      requests[index].increment();
    }
    if (status >= 500) {
      if (countsRequests) {
        failures[index].increment();
      }
      boolean gateway = status == 502 || status == 503 || status == 504;
      int c5 = consecutive5xx[index].incrementAndGet();
      int cg = gateway ? consecutiveGateway[index].incrementAndGet() : 0;
      if (!gateway) {
        consecutiveGateway[index].set(0);
      }
      // At a threshold the counter starts again whether or not the ejection is enforced (Envoy's
      // onConsecutiveErrorWorker): a declined ejection (enforcing %, max_ejection_percent) is tried again after as
      // many more failures, not never.
      if (c5 >= config.consecutive5xx()) {
        consecutive5xx[index].set(0);
        eject(index, EjectionType.CONSECUTIVE_5XX, config.enforcingConsecutive5xx());
      } else if (gateway && cg >= config.consecutiveGatewayFailure()) {
        consecutiveGateway[index].set(0);
        eject(index, EjectionType.CONSECUTIVE_GATEWAY_FAILURE, config.enforcingConsecutiveGatewayFailure());
      }
      maybeRunTimers();
      return;
    }
    if (consecutive5xx[index].get() != 0) {
      consecutive5xx[index].set(0);
    }
    if (consecutiveGateway[index].get() != 0) {
      consecutiveGateway[index].set(0);
    }
    long due = nextWork;
    if (due != NONE && nanosHint - due >= 0) {
      runTimers();
    }
  }

  /**
   * A failure that produced no response from endpoint {@code index} (connect failure, reset, timeout): counted as a
   * gateway failure, as Envoy does when local and external errors are not split; split, as a local-origin failure
   * only, ejecting after consecutive_local_origin_failure of them in a row.
   */
  public void onLocalFailure(int index) {
    if (!config.splitExternalLocalOriginErrors()) {
      onResponse(index, 503);
      return;
    }
    if (consecutiveLocal[index].incrementAndGet() >= config.consecutiveLocalOriginFailure()) {
      consecutiveLocal[index].set(0); // as the 5xx counters: starts again whether or not the ejection is enforced
      eject(index, EjectionType.CONSECUTIVE_LOCAL_ORIGIN_FAILURE, config.enforcingConsecutiveLocalOriginFailure());
    }
    maybeRunTimers();
  }

  /** Runs the interval and the un-ejections whose time has come; cheap when none has. */
  public void maybeRunTimers() {
    long due = nextWork;
    if (due != NONE && clock.getAsLong() - due >= 0) {
      runTimers();
    }
  }

  /** Endpoints ejected now. */
  public synchronized int ejectedCount() {
    return ejected;
  }

  public EndpointHealth health(int index) {
    return health[index];
  }

  private synchronized void runTimers() {
    long now = clock.getAsLong();
    if (nextWork == NONE || now - nextWork < 0) {
      return; // another thread got here first
    }
    boolean intervalEnded = now - nextInterval >= 0;
    for (int i = 0; i < health.length; i++) {
      EndpointHealth h = health[i];
      if (h.has(EndpointHealth.EJECTED) && now - h.ejectedUntilNanos >= 0) {
        h.set(EndpointHealth.EJECTED, false);
        ejected--;
        consecutive5xx[i].set(0);
        consecutiveGateway[i].set(0);
        consecutiveLocal[i].set(0);
      } else if (intervalEnded && !h.has(EndpointHealth.EJECTED) && h.timesEjected > 0) {
        h.timesEjected--; // a full interval in: the next ejection is shorter again
      }
    }
    if (intervalEnded) {
      nextInterval = now + intervalNanos;
      if (countsRequests) {
        evaluateInterval();
      }
    }
    nextWork = nextDue();
  }

  /** Success-rate and failure-percentage ejection over the interval's counts, which then start afresh. */
  private void evaluateInterval() {
    int n = health.length;
    long[] req = new long[n];
    long[] fail = new long[n];
    for (int i = 0; i < n; i++) {
      req[i] = requests[i].sumThenReset();
      fail[i] = failures[i].sumThenReset();
    }
    int volumeHosts = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      if (!health[i].has(EndpointHealth.EJECTED) && req[i] >= config.successRateRequestVolume() && req[i] > 0) {
        volumeHosts++;
        sum += successRate(req[i], fail[i]);
      }
    }
    if (volumeHosts > 0 && volumeHosts >= config.successRateMinimumHosts()) {
      double mean = sum / volumeHosts;
      double var = 0;
      for (int i = 0; i < n; i++) {
        if (!health[i].has(EndpointHealth.EJECTED) && req[i] >= config.successRateRequestVolume() && req[i] > 0) {
          double d = successRate(req[i], fail[i]) - mean;
          var += d * d;
        }
      }
      double threshold = mean - config.successRateStdevFactor() * Math.sqrt(var / volumeHosts);
      for (int i = 0; i < n; i++) {
        if (!health[i].has(EndpointHealth.EJECTED) && req[i] >= config.successRateRequestVolume() && req[i] > 0
            && successRate(req[i], fail[i]) < threshold) {
          eject(i, EjectionType.SUCCESS_RATE, config.enforcingSuccessRate());
        }
      }
    }
    int fpHosts = 0;
    for (int i = 0; i < n; i++) {
      if (req[i] >= config.failurePercentageRequestVolume() && req[i] > 0) {
        fpHosts++;
      }
    }
    if (fpHosts > 0 && fpHosts >= config.failurePercentageMinimumHosts()) {
      for (int i = 0; i < n; i++) {
        if (!health[i].has(EndpointHealth.EJECTED) && req[i] >= config.failurePercentageRequestVolume() && req[i] > 0
            && 100.0 * fail[i] / req[i] >= config.failurePercentageThreshold()) {
          eject(i, EjectionType.FAILURE_PERCENTAGE, config.enforcingFailurePercentage());
        }
      }
    }
  }

  private static double successRate(long requests, long failures) {
    return 100.0 * (requests - failures) / requests;
  }

  private synchronized void eject(int index, EjectionType type, int enforcingPercent) {
    EndpointHealth h = health[index];
    if (h.has(EndpointHealth.EJECTED)) {
      return;
    }
    stats.ejectionsDetected[type.ordinal()].increment();
    if (enforcingPercent <= 0 || (enforcingPercent < 100 && random.nextInt(100) >= enforcingPercent)) {
      return;
    }
    if (100.0 * ejected / health.length >= config.maxEjectionPercent()) {
      stats.ejectionsOverflow.increment();
      return;
    }
    long now = clock.getAsLong();
    if (nextWork == NONE) {
      nextInterval = now + intervalNanos; // timers were idle: the interval (for the ejection count) starts now
    }
    h.timesEjected++;
    long duration = Math.min(maxEjectionNanos, baseEjectionNanos * h.timesEjected);
    h.ejectedUntilNanos = now + duration;
    h.set(EndpointHealth.EJECTED, true);
    ejected++;
    stats.ejectionsEnforced[type.ordinal()].increment();
    stats.ejectionsEnforcedTotal.increment();
    nextWork = nextDue();
  }
}
