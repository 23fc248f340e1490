package io.keelson.dataplane.filter.connlimit;

import io.keelson.dataplane.filter.ConnectionGate;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's connection limit: the chain's open connections are counted (per process, across event loops, and shown in
 * the {@code active_connections} gauge); a connection that would go over {@code max_connections} is counted in
 * {@code limited_connections} and closed without being read, at once or after {@code delay} (a scheduled close on its
 * event loop, so a client retrying at once is slowed down, as in Envoy). Thread-safe (compare-and-set; never blocks).
 */
final class ConnectionLimiter implements ConnectionGate {
  private final long max;
  private final long delayNanos;
  private final boolean enabled;
  private final LongAdder limited;
  private final AtomicLong gauge;
  private final AtomicLong open = new AtomicLong();
  /** One listener for every admitted connection: its close gives its place back. */
  private final ChannelFutureListener release;

  ConnectionLimiter(ConnectionLimitConfig config, LongAdder limited, AtomicLong active) {
    this.max = config.maxConnections();
    this.delayNanos = config.delay().toNanos();
    this.enabled = config.enabled();
    this.limited = limited;
    this.gauge = active;
    this.release = f -> {
      open.decrementAndGet();
      active.decrementAndGet();
    };
  }

  @Override
  public boolean admit(Channel connection) {
    if (!enabled) {
      return true;
    }
    while (true) {
      long n = open.get();
      if (n >= max) {
        break;
      }
      if (open.compareAndSet(n, n + 1)) {
        gauge.incrementAndGet();
        connection.closeFuture().addListener(release);
        return true;
      }
    }
    limited.increment();
    if (delayNanos == 0) {
      connection.close();
    } else {
      connection.config().setAutoRead(false);
      connection.eventLoop().schedule(() -> connection.close(), delayNanos, TimeUnit.NANOSECONDS);
    }
    return false;
  }
}
