package io.keelson.dataplane.filter.csrf;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The CSRF filter's counters, in Envoy's {@code http.<stat_prefix>.csrf.*} names; shared by every CSRF filter of one
 * connection manager (route policies included), as in Envoy. Only mutating requests are counted. Thread-safe.
 */
record CsrfStats(LongAdder missingSourceOrigin, LongAdder requestInvalid, LongAdder requestValid) {
  static CsrfStats of(FilterResources r) {
    String p = "http." + r.statPrefix() + ".csrf.";
    return new CsrfStats(r.stats().counter(p + "missing_source_origin"), r.stats().counter(p + "request_invalid"),
        r.stats().counter(p + "request_valid"));
  }
}
