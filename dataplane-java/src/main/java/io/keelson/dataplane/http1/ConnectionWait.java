package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.netty.channel.EventLoop;

/**
 * One HTTP/1.1 exchange waiting as a pending request for a connection slot of its cluster, as Envoy
 * queues a request when {@code max_connections} is reached (the pending slot, bounded by
 * {@code max_pending_requests}, is held by the exchange meanwhile). The breaker wakes the oldest waiter
 * when a connection closes; a connection given back to a pool while requests wait is closed instead
 * (see {@link UpstreamPool#release}), since the waiter may sit on another event loop. The route and
 * per-try timeouts still bound the wait. Event-loop confined, except {@link #onConnectionSlotFree}.
 */
final class ConnectionWait implements CircuitBreakers.ConnectionWaiter {
  /** What the exchange does once woken: take a pooled connection or try to open one again. */
  interface Resume {
    void onSlotFree(UpstreamPool pool, UpstreamPool.Endpoint endpoint);
  }

  private final Resume resume;
  private final Runnable wakeTask = this::onWoken;
  private EventLoop loop;
  private CircuitBreakers.Resources breaker;
  private UpstreamPool pool;
  private UpstreamPool.Endpoint endpoint;
  private boolean waiting;

  ConnectionWait(Resume resume) {
    this.resume = resume;
  }

  void await(EventLoop loop, CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds,
      UpstreamPool pool, UpstreamPool.Endpoint endpoint) {
    this.loop = loop;
    this.breaker = breaker;
    this.pool = pool;
    this.endpoint = endpoint;
    waiting = true;
    breaker.awaitConnection(this, thresholds);
  }

  /** The exchange ended or its try was abandoned while waiting. */
  void cancel() {
    if (waiting) {
      waiting = false;
      breaker.cancelWait(this);
      pool = null;
      endpoint = null;
    }
  }

  @Override
  public void onConnectionSlotFree() {
    loop.execute(wakeTask);
  }

  private void onWoken() {
    if (!waiting) {
      breaker.wakeWaiter(); // cancelled meanwhile: the freed slot goes to the next waiter
      return;
    }
    waiting = false;
    UpstreamPool p = pool;
    UpstreamPool.Endpoint e = endpoint;
    pool = null;
    endpoint = null;
    resume.onSlotFree(p, e);
  }
}
