package io.keelson.control.xds;

import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.controlplane.server.ExecutorGroup;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where java-control-plane builds and writes each stream's responses. Its default (and this one's,
 * {@code keelson.xds.pushThreads} = 0) runs them on the thread that sets the snapshots, i.e. the
 * {@code apply}, one proxy after another. With N threads each stream gets its own sequential
 * executor (its responses stay in order) over a pool of N, and {@code apply} returns before the
 * responses are written. Measured on a busy 2-core machine (1,000 proxies, 10,000 endpoints) the
 * pool of 2 made endpoint changes slower and cost more CPU per round than the default, so it is
 * off unless asked for (docs/control-plane.md). Thread-safe.
 */
final class PushExecutors implements ExecutorGroup, AutoCloseable {
  private final ExecutorService pool;

  /** {@code threads} 0: on the changing thread, as java-control-plane's default (for comparisons). */
  PushExecutors(int threads) {
    AtomicInteger n = new AtomicInteger();
    this.pool = threads == 0 ? null : Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "xds-push-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** System property {@code keelson.xds.pushThreads} threads; 0 (the default): on the changing thread. */
  static PushExecutors fromSystemProperty() {
    return new PushExecutors(Integer.getInteger("keelson.xds.pushThreads", 0));
  }

  @Override
  public Executor next() {
    return pool == null ? MoreExecutors.directExecutor() : MoreExecutors.newSequentialExecutor(pool);
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
