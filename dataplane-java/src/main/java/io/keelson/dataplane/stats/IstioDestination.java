package io.keelson.dataplane.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Istio request metrics towards one destination (an upstream cluster, or "unknown" when no cluster was
 * chosen). Series are slots indexed by (status, flag): a lookup is two array reads, and a slot is
 * filled once with a CAS. A status's row of flags is allocated on its first request, so an idle
 * destination costs one 500-slot array (clusters can number in the thousands). Labels are derived at scrape time from the cluster name and the proxy's
 * {@link MeshIdentity}. Thread-safe.
 */
public final class IstioDestination {
  private static final int MIN_STATUS = 100;
  private static final int STATUSES = 500; // 100..599; anything else lands on slot 0 (status 0 / 1xx)
  private static final int FLAGS = ResponseFlag.VALUES.length;

  final String cluster;
  /** Row 0: statuses outside 100..599; row s: status 99 + s. */
  private final AtomicReferenceArray<AtomicReferenceArray<IstioSeries>> rows = new AtomicReferenceArray<>(STATUSES + 1);

  IstioDestination(String cluster) {
    this.cluster = cluster;
  }

  /** One finished request. Called from event loops; allocates only on a label set's first request. */
  public void record(int status, ResponseFlag flag, long durationNanos, long requestBytes, long responseBytes) {
    int s = status >= MIN_STATUS && status < MIN_STATUS + STATUSES ? status - MIN_STATUS + 1 : 0;
    AtomicReferenceArray<IstioSeries> row = rows.get(s);
    if (row == null) {
      AtomicReferenceArray<IstioSeries> fresh = new AtomicReferenceArray<>(FLAGS);
      row = rows.compareAndExchange(s, null, fresh);
      if (row == null) {
        row = fresh;
      }
    }
    int slot = flag.ordinal();
    IstioSeries x = row.get(slot);
    if (x == null) {
      IstioSeries fresh = new IstioSeries(s == 0 ? 0 : status, flag);
      x = row.compareAndExchange(slot, null, fresh);
      if (x == null) {
        x = fresh;
      }
    }
    x.record(durationNanos, requestBytes, responseBytes);
  }

  List<IstioSeries> series() {
    List<IstioSeries> out = new ArrayList<>();
    for (int r = 0; r < rows.length(); r++) {
      AtomicReferenceArray<IstioSeries> row = rows.get(r);
      for (int i = 0; row != null && i < row.length(); i++) {
        IstioSeries x = row.get(i);
        if (x != null) {
          out.add(x);
        }
      }
    }
    return out;
  }
}
