package io.keelson.dataplane.http1;

import io.netty.channel.EventLoop;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The two timers of a downstream connection (the route timeout of the current exchange and the idle
 * timeout) on one lazily re-armed scheduled task. Arming or disarming a deadline only stores a
 * timestamp: a keep-alive connection serving thousands of requests a second touches the event loop's
 * timer queue about once per timeout period instead of twice per request (schedule and cancel), and no
 * per-write promise is needed to track activity (what {@code IdleStateHandler} costs). Event-loop
 * confined.
 */
final class ConnectionTimers {
  /** What the owner does when a deadline passes; both run on the event loop. */
  interface Owner {
    void onRouteTimeout();

    /** No read for the idle timeout; the owner decides whether the connection is idle. */
    void onIdleTimeout();
  }

  private static final long NONE = Long.MAX_VALUE;

  private final EventLoop loop;
  private final Owner owner;
  private final long idleNanos;
  private final Runnable tickTask = this::tick;
  private long routeDeadline = NONE;
  private long lastActivity;
  private ScheduledFuture<?> tick;
  private long tickAt = NONE;
  private boolean closed;

  /** @param idleNanos the idle timeout, 0 for none */
  ConnectionTimers(EventLoop loop, Owner owner, long idleNanos) {
    this.loop = loop;
    this.owner = owner;
    this.idleNanos = idleNanos;
  }

  /** Records activity on the connection (a read): the idle timeout counts from the last one. */
  void touch() {
    if (idleNanos > 0) {
      long now = System.nanoTime();
      lastActivity = now;
      ensureTickBy(now + idleNanos);
    }
  }

  /** Starts the route timeout of the current exchange. */
  void startRoute(long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    routeDeadline = deadline;
    ensureTickBy(deadline);
  }

  /** Stops the route timeout; the scheduled task, if any, stays and finds nothing to do. */
  void cancelRoute() {
    routeDeadline = NONE;
  }

  boolean routeArmed() {
    return routeDeadline != NONE;
  }

  /** Stops both timers for good (the connection closed). */
  void close() {
    closed = true;
    routeDeadline = NONE;
    if (tick != null) {
      tick.cancel(false);
      tick = null;
      tickAt = NONE;
    }
  }

  /** Makes sure a tick runs no later than {@code at}. */
  private void ensureTickBy(long at) {
    if (closed || tickAt <= at) {
      return;
    }
    if (tick != null) {
      tick.cancel(false); // rare: only when a deadline is nearer than the pending tick
    }
    tickAt = at;
    tick = loop.schedule(tickTask, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  private void tick() {
    tick = null;
    tickAt = NONE;
    if (closed) {
      return;
    }
    long now = System.nanoTime();
    if (routeDeadline != NONE && now - routeDeadline >= 0) {
      routeDeadline = NONE;
      owner.onRouteTimeout();
    }
    if (idleNanos > 0 && !closed && now - lastActivity >= idleNanos) {
      lastActivity = now; // counted afresh if the owner keeps the connection (an exchange is running)
      owner.onIdleTimeout();
    }
    if (closed) {
      return;
    }
    if (routeDeadline != NONE) {
      ensureTickBy(routeDeadline);
    }
    if (idleNanos > 0) {
      ensureTickBy(lastActivity + idleNanos);
    }
  }
}
