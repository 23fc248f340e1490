package io.keelson.dataplane.http1;

import io.netty.channel.EventLoop;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The timers of a downstream connection (the route timeout and the stream idle timeout of the current
 * exchange, and the connection's idle timeout) on one lazily re-armed scheduled task. Arming or disarming a deadline only stores a
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

    /** No activity either way on the running exchange for the stream idle timeout (stream_idle_timeout). */
    void onStreamIdleTimeout();
  }

  private static final long NONE = Long.MAX_VALUE;

  private final EventLoop loop;
  private final Owner owner;
  private final long idleNanos;
  private final long streamIdleNanos;
  private long lastStreamActivity = NONE;
  private final Runnable tickTask = this::tick;
  private long routeDeadline = NONE;
  private long lastActivity;
  private ScheduledFuture<?> tick;
  private long tickAt = NONE;
  private boolean closed;

  /** @param idleNanos the idle timeout, 0 for none */
  ConnectionTimers(EventLoop loop, Owner owner, long idleNanos) {
    this(loop, owner, idleNanos, 0);
  }

  /**
   * @param idleNanos       the idle timeout, 0 for none
   * @param streamIdleNanos the stream idle timeout of each exchange, 0 for none
   */
  ConnectionTimers(EventLoop loop, Owner owner, long idleNanos, long streamIdleNanos) {
    this.loop = loop;
    this.owner = owner;
    this.idleNanos = idleNanos;
    this.streamIdleNanos = streamIdleNanos;
  }

  /** An exchange starts (its request head arrived): the stream idle timeout runs until {@link #endStream}. */
  void startStream() {
    if (streamIdleNanos > 0) {
      long now = System.nanoTime();
      lastStreamActivity = now;
      ensureTickBy(now + streamIdleNanos);
    }
  }

  /** Bytes moved for the running exchange (either direction): the stream idle time counts afresh. */
  void streamActivity() {
    if (lastStreamActivity != NONE) {
      lastStreamActivity = System.nanoTime(); // the pending tick finds it and re-arms: no reschedule here
    }
  }

  /** The exchange is over (its response fully written, or the connection going away). */
  void endStream() {
    lastStreamActivity = NONE;
  }

  /** Records activity on the connection (a read): the idle timeout counts from the last one. */
  void touch() {
    if (idleNanos > 0) {
      long now = System.nanoTime();
      lastActivity = now;
      ensureTickBy(now + idleNanos);
    }
    streamActivity();
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
    lastStreamActivity = NONE;
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
    if (lastStreamActivity != NONE && !closed && now - lastStreamActivity >= streamIdleNanos) {
      lastStreamActivity = NONE; // one expiry per exchange
      owner.onStreamIdleTimeout();
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
    if (lastStreamActivity != NONE) {
      ensureTickBy(lastStreamActivity + streamIdleNanos);
    }
  }
}
