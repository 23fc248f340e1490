package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The ext_authz filter's counters, in Envoy's {@code http.<stat_prefix>.ext_authz.*} names: checks that
 * allowed, denied, failed (error or timeout), failed but let through (failure_mode_allow), and requests
 * the filter was disabled for (per route). Shared by every ext_authz filter of one connection manager.
 * Thread-safe.
 */
record ExtAuthzStats(LongAdder ok, LongAdder denied, LongAdder error, LongAdder failureModeAllowed, LongAdder disabled) {
  static ExtAuthzStats of(FilterResources r) {
    String p = "http." + r.statPrefix() + ".ext_authz.";
    return new ExtAuthzStats(r.stats().counter(p + "ok"), r.stats().counter(p + "denied"), r.stats().counter(p + "error"),
        r.stats().counter(p + "failure_mode_allowed"), r.stats().counter(p + "disabled"));
  }
}
