package io.keelson.dataplane.resilience;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ConcurrentLinkedQueue;

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
    /** Requests waiting as pending for a connection slot (max_connections reached), oldest first. */
    private final ConcurrentLinkedQueue<ConnectionWaiter> waiters = new ConcurrentLinkedQueue<>();

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

    /**
     * Counts a connection opened past max_connections: Envoy's pool always opens one when it has none
     * at all, so that requests queued on it (per event loop) are not stranded by other pools' connections.
     */
    public void forceAcquireConnection() {
      connections.incrementAndGet();
    }

    public void releaseConnection() {
      connections.decrementAndGet();
      wakeWaiter();
    }

    /**
     * Queues a request that holds a pending slot and found max_connections reached: it is woken (once)
     * when a connection slot may be free. Re-checks after queueing, so a slot freed in between is not
     * missed.
     */
    public void awaitConnection(ConnectionWaiter waiter, CircuitBreakerConfig.Thresholds t) {
      waiters.add(waiter);
      if (connections.get() < t.maxConnections()) {
        wakeWaiter();
      }
    }

    /** Removes a waiter whose request ended (timeout, client gone) before it was woken. */
    public void cancelWait(ConnectionWaiter waiter) {
      waiters.remove(waiter);
    }

    /** True when requests are waiting for a connection slot (a connection given back should then close). */
    public boolean hasWaiters() {
      return !waiters.isEmpty();
    }

    /**
     * Wakes every request waiting now (an HTTP/2 stream slot was freed: the waiters sit on several event
     * loops' pools, and only the one on the freeing loop's pool can use it; the others wait again).
     */
    public void wakeWaiters() {
      for (int n = waiters.size(); n > 0; n--) {
        ConnectionWaiter w = waiters.poll();
        if (w == null) {
          return;
        }
        w.onConnectionSlotFree();
      }
    }

    /** Wakes the longest-waiting request, if any. */
    public void wakeWaiter() {
      if (!waiters.isEmpty()) {
        ConnectionWaiter w = waiters.poll();
        if (w != null) {
          w.onConnectionSlotFree();
        }
      }
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

  /** A pending request waiting for a connection slot. */
  public interface ConnectionWaiter {
    /** A slot may be free: called once, on any thread; the waiter moves to its own event loop and tries again. */
    void onConnectionSlotFree();
  }

  private final Resources defaultPriority = new Resources();
  private final Resources high = new Resources();

  public Resources of(boolean highPriority) {
    return highPriority ? high : defaultPriority;
  }
}
