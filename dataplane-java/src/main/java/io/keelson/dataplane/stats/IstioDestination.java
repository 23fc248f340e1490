package io.keelson.dataplane.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Istio request metrics towards one destination (an upstream cluster, or "unknown" when no cluster was
 * chosen). Series are slots indexed by (status, flag): a lookup is an array read, and a slot is
 * filled once with a CAS. Labels are derived at scrape time from the cluster name and the proxy's
 * {@link MeshIdentity}. Thread-safe.
 */
public final class IstioDestination {
  private static final int MIN_STATUS = 100;
  private static final int STATUSES = 500; // 100..599; anything else lands on slot 0 (status 0 / 1xx)
  private static final int FLAGS = ResponseFlag.VALUES.length;

  final String cluster;
  private final AtomicReferenceArray<IstioSeries> series = new AtomicReferenceArray<>(STATUSES * FLAGS + FLAGS);

  IstioDestination(String cluster) {
    this.cluster = cluster;
  }

  /** One finished request. Called from event loops; allocates only on a label set's first request. */
  public void record(int status, ResponseFlag flag, long durationNanos, long requestBytes, long responseBytes) {
    int s = status >= MIN_STATUS && status < MIN_STATUS + STATUSES ? status - MIN_STATUS + 1 : 0;
    int slot = s * FLAGS + flag.ordinal();
    IstioSeries x = series.get(slot);
    if (x == null) {
      IstioSeries fresh = new IstioSeries(s == 0 ? 0 : status, flag);
      x = series.compareAndExchange(slot, null, fresh);
      if (x == null) {
        x = fresh;
      }
    }
    x.record(durationNanos, requestBytes, responseBytes);
  }

  List<IstioSeries> series() {
    List<IstioSeries> out = new ArrayList<>();
    for (int i = 0; i < series.length(); i++) {
      IstioSeries x = series.get(i);
      if (x != null) {
        out.add(x);
      }
    }
    return out;
  }
}
