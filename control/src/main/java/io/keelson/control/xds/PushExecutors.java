package io.keelson.control.xds;

import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.controlplane.server.ExecutorGroup;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where java-control-plane builds and writes each stream's responses. Its default runs them on the
 * thread that sets the snapshots, i.e. the {@code apply}: 1,000 proxies' 10,000-endpoint responses
 * were serialized one after another on that one thread before {@code apply} returned. Here each
 * stream gets its own sequential executor (its responses stay in order) over a small shared pool, so
 * the responses to different proxies are written on several cores while the change returns.
 * Thread-safe.
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

  /** One thread per core, at least two; system property {@code keelson.xds.pushThreads} overrides (0: none). */
  static PushExecutors perCore() {
    return new PushExecutors(Integer.getInteger("keelson.xds.pushThreads",
        Math.max(2, Runtime.getRuntime().availableProcessors())));
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
