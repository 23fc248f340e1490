package io.keelson.dataplane.mirror;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the requests mirrored to one shadow cluster, listed in {@code /stats} as
 * {@code cluster.<shadow>.mirror_rq_*}. Thread-safe.
 *
 * @param total    copies sent (a connection or stream to the shadow was had and the copy written to it)
 * @param failed   copies that got no response: no such cluster or endpoint, connect or TLS handshake
 *                 failure (certificate, SAN mismatch), reset, timeout
 * @param tooLarge requests not mirrored because their body exceeds {@link RequestMirror#MAX_BODY_BYTES}
 * @param overflow copies dropped because the shadow cluster's circuit breakers were open
 *                 ({@code max_requests}, {@code max_pending_requests}, {@code max_connections})
 */
public record MirrorCounters(LongAdder total, LongAdder failed, LongAdder tooLarge, LongAdder overflow) {
  static MirrorCounters of(StatsRegistry stats, String cluster) {
    String p = "cluster." + cluster + ".";
    return new MirrorCounters(stats.counter(p + "mirror_rq_total"), stats.counter(p + "mirror_rq_failed"),
        stats.counter(p + "mirror_rq_body_too_large"), stats.counter(p + "mirror_rq_overflow"));
  }
}
