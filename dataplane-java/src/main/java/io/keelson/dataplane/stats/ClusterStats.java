package io.keelson.dataplane.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * Upstream counters of one cluster (Envoy's {@code cluster.<name>.*}), kept across snapshots by name.
 * Thread-safe: written by every event loop, read by the admin thread.
 */
public final class ClusterStats {
  final String name;
  public final LongAdder rqTotal = new LongAdder();
  public final LongAdder rqActive = new LongAdder();
  public final LongAdder rqTimeout = new LongAdder();
  public final LongAdder cxTotal = new LongAdder();
  public final LongAdder cxActive = new LongAdder();
  public final LongAdder cxConnectFail = new LongAdder();
  public final LongAdder cxConnectTimeout = new LongAdder();
  public final LongAdder rqResetBeforeResponse = new LongAdder();
  public final LongAdder noHealthyUpstream = new LongAdder();
  private final LongAdder[] rqByClass = HttpStats.newClasses();
  /** Istio's request metrics towards this cluster. */
  public final IstioDestination istio;

  ClusterStats(String name) {
    this.name = name;
    this.istio = new IstioDestination(name);
  }

  public void recordResponse(int status) {
    rqByClass[Math.min(5, Math.max(1, status / 100))].increment();
  }

  public long responses(int statusClass) {
    return rqByClass[statusClass].sum();
  }
}
