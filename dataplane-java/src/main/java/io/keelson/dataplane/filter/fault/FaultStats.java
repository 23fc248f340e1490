package io.keelson.dataplane.filter.fault;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The fault filter's counters, in Envoy's {@code http.<stat_prefix>.fault.*} names; shared by every
 * fault filter of one connection manager (route overrides included), as in Envoy. Thread-safe.
 */
record FaultStats(LongAdder delaysInjected, LongAdder abortsInjected, LongAdder faultsOverflow, AtomicLong activeFaults) {
  static FaultStats of(FilterResources r) {
    String p = "http." + r.statPrefix() + ".fault.";
    return new FaultStats(
        r.stats().counter(p + "delays_injected"),
        r.stats().counter(p + "aborts_injected"),
        r.stats().counter(p + "faults_overflow"),
        r.stats().gauge(p + "active_faults"));
  }
}
