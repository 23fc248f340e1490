package io.keelson.dataplane.filter.cors;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The CORS filter's counters, in Envoy's {@code http.<stat_prefix>.cors.*} names; shared by every CORS
 * filter of one connection manager (route policies included), as in Envoy. Requests without an Origin
 * header are not counted. Thread-safe.
 */
record CorsStats(LongAdder originValid, LongAdder originInvalid) {
  static CorsStats of(FilterResources r) {
    String p = "http." + r.statPrefix() + ".cors.";
    return new CorsStats(r.stats().counter(p + "origin_valid"), r.stats().counter(p + "origin_invalid"));
  }
}
