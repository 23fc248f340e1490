package io.keelson.dataplane.tracing;

import io.keelson.dataplane.config.ZipkinTracing;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A proxy's Zipkin reporters: one per event loop and collector (cluster and settings), made on the loop's first span for
 * it, as Envoy keeps one reporter per worker thread. Thread-safe: each loop reaches only its own.
 */
public final class ZipkinReporters implements AutoCloseable {
  /**
   * More distinct collectors than this per loop (configs replaced over time) retire the loop's reporters: their timers
   * stop and what they hold is sent at once.
   */
  private static final int MAX_PER_LOOP = 16;

  private record Target(String cluster, ZipkinTracing settings) {}

  private final Supplier<ServingSnapshot> snapshots;
  private final Supplier<String> serviceName;
  private final ZipkinStats stats;
  private final Set<ZipkinReporter> all = ConcurrentHashMap.newKeySet();
  private final FastThreadLocal<Map<Target, ZipkinReporter>> perLoop = new FastThreadLocal<>() {
    @Override
    protected Map<Target, ZipkinReporter> initialValue() {
      return new HashMap<>();
    }
  };

  /** @param serviceName the node's service cluster (Envoy's local_info cluster name), read per span; null for none */
  public ZipkinReporters(StatsRegistry stats, Supplier<ServingSnapshot> snapshots, Supplier<String> serviceName) {
    this.stats = ZipkinStats.of(stats);
    this.snapshots = snapshots;
    this.serviceName = serviceName;
  }

  /** The calling event loop's reporter to {@code cluster}; call on {@code loop} only. */
  public ZipkinReporter reporter(String cluster, ZipkinTracing settings, EventLoop loop, UpstreamCalls calls) {
    Map<Target, ZipkinReporter> mine = perLoop.get();
    Target t = new Target(cluster, settings);
    ZipkinReporter r = mine.get(t);
    if (r == null) {
      if (mine.size() >= MAX_PER_LOOP) {
        mine.values().forEach(this::retire);
        mine.clear();
      }
      r = new ZipkinReporter(cluster, settings, loop, calls, snapshots, serviceName, stats);
      mine.put(t, r);
      all.add(r);
    }
    return r;
  }

  private void retire(ZipkinReporter r) {
    r.retire(); // its waiting spans go now rather than never
    all.remove(r);
  }

  @Override
  public void close() {
    all.forEach(ZipkinReporter::close);
    all.clear();
  }
}
