package io.keelson.dataplane.resilience;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.netty.channel.EventLoop;

/**
 * One request waiting as a pending request for a connection slot of its cluster, as Envoy queues a
 * request when {@code max_connections} is reached (the pending slot, bounded by
 * {@code max_pending_requests}, is held by the request meanwhile). The breaker wakes the oldest waiter
 * when a connection closes, and every waiter when a stream ends on one of an HTTP/2 cluster's connections; a connection given back to a pool while requests wait is closed instead,
 * since the waiter may sit on another event loop. The route and per-try timeouts still bound the wait.
 * Used by HTTP/1.1 exchanges ({@code http1/DownstreamHandler}) and HTTP/2 client streams
 * ({@code http2/StreamProxy}). Event-loop confined, except {@link #onConnectionSlotFree}.
 *
 * @param <T> what the waiter needs again once woken (the HTTP/1.1 path: the pool's endpoint)
 */
public final class ConnectionWait<T> implements CircuitBreakers.ConnectionWaiter {
  /** What the request does once woken: take a pooled connection or try to open one again. */
  public interface Resume<T> {
    void onSlotFree(T target);
  }

  private final Resume<T> resume;
  private final Runnable wakeTask = this::onWoken;
  private EventLoop loop;
  private CircuitBreakers.Resources breaker;
  private T target;
  private boolean waiting;

  public ConnectionWait(Resume<T> resume) {
    this.resume = resume;
  }

  public void await(EventLoop loop, CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds,
      T target) {
    this.loop = loop;
    this.breaker = breaker;
    this.target = target;
    waiting = true;
    breaker.awaitConnection(this, thresholds);
  }

  /** True between {@link #await} and the wake-up or {@link #cancel}. */
  public boolean waiting() {
    return waiting;
  }

  /** The request ended or its try was abandoned while waiting. */
  public void cancel() {
    if (waiting) {
      waiting = false;
      breaker.cancelWait(this);
      target = null;
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
    T t = target;
    target = null;
    resume.onSlotFree(t);
  }
}
