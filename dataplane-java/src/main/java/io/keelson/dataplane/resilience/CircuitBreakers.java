package io.keelson.dataplane.resilience;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The open resources of one cluster, per routing priority, checked against Envoy's
 * {@code circuit_breakers.thresholds}. Limits hold for the whole cluster across event loops: each
 * resource is one shared atomic counter, incremented first and given back when over the limit, so a
 * limit of N admits exactly N (two event loops cannot both take the last slot). Kept across config
 * snapshots by cluster name, so in-flight requests stay counted when limits change. Thread-safe.
 */
public final class CircuitBreakers {
  /** The counters of one priority. */
  public static final class Resources {
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger pending = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger retries = new AtomicInteger();

    public int connections() {
      return connections.get();
    }

    public int pending() {
      return pending.get();
    }

    public int requests() {
      return requests.get();
    }

    public int retries() {
      return retries.get();
    }

    public boolean tryAcquireConnection(CircuitBreakerConfig.Thresholds t) {
      return tryAcquire(connections, t.maxConnections());
    }

    public void releaseConnection() {
      connections.decrementAndGet();
    }

    public boolean tryAcquirePending(CircuitBreakerConfig.Thresholds t) {
      return tryAcquire(pending, t.maxPendingRequests());
    }

    public void releasePending() {
      pending.decrementAndGet();
    }

    public boolean tryAcquireRequest(CircuitBreakerConfig.Thresholds t) {
      return tryAcquire(requests, t.maxRequests());
    }

    public void releaseRequest() {
      requests.decrementAndGet();
    }

    /**
     * Takes a retry slot: under max_retries, or, with a retry budget, under the budget's share of the
     * active and pending requests (at least min_retry_concurrency).
     */
    public boolean tryAcquireRetry(CircuitBreakerConfig.Thresholds t) {
      return tryAcquire(retries, maxRetries(t));
    }

    public void releaseRetry() {
      retries.decrementAndGet();
    }

    /** The current retry limit of {@code t} (a budget depends on the load). */
    public int maxRetries(CircuitBreakerConfig.Thresholds t) {
      CircuitBreakerConfig.RetryBudget b = t.retryBudget();
      if (b == null) {
        return t.maxRetries();
      }
      int share = (int) ((requests.get() + pending.get()) * b.budgetPercent() / 100.0);
      return Math.max(b.minRetryConcurrency(), share);
    }

    private static boolean tryAcquire(AtomicInteger counter, int max) {
      if (counter.incrementAndGet() > max) {
        counter.decrementAndGet();
        return false;
      }
      return true;
    }
  }

  private final Resources defaultPriority = new Resources();
  private final Resources high = new Resources();

  public Resources of(boolean highPriority) {
    return highPriority ? high : defaultPriority;
  }
}
