package io.keelson.dataplane.mirror;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the requests mirrored to one shadow cluster, listed in {@code /stats} as
 * {@code cluster.<shadow>.mirror_rq_*}. Thread-safe.
 *
 * @param total    copies sent (the shadow's connection opened and the copy was written)
 * @param failed   copies that got no response: no such cluster or endpoint, connect failure, reset, timeout
 * @param tooLarge requests not mirrored because their body exceeds {@link RequestMirror#MAX_BODY_BYTES}
 */
record MirrorCounters(LongAdder total, LongAdder failed, LongAdder tooLarge) {
  static MirrorCounters of(StatsRegistry stats, String cluster) {
    String p = "cluster." + cluster + ".";
    return new MirrorCounters(stats.counter(p + "mirror_rq_total"), stats.counter(p + "mirror_rq_failed"),
        stats.counter(p + "mirror_rq_body_too_large"));
  }
}
