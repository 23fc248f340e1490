package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The ext_proc filter's counters, in Envoy's {@code http.<stat_prefix>.ext_proc.<filter stat_prefix>*} names. Shared
 * by the ext_proc filters of one connection manager with the same filter stat_prefix. Thread-safe.
 */
record ExtProcStats(LongAdder streamsStarted, LongAdder streamMsgsSent, LongAdder streamMsgsReceived,
    LongAdder spuriousMsgsReceived, LongAdder streamsClosed, LongAdder streamsFailed, LongAdder failureModeAllowed,
    LongAdder messageTimeouts, LongAdder rejectedHeaderMutations, LongAdder clearRouteCacheIgnored,
    LongAdder overrideMessageTimeoutReceived, LongAdder overrideMessageTimeoutIgnored,
    LongAdder clearRouteCacheDisabled, LongAdder streamedBodyConflicts) {

  /** @param filterPrefix the filter's own stat_prefix, appended after {@code ext_proc.} as Envoy does ("" for none) */
  static ExtProcStats of(FilterResources r, String filterPrefix) {
    String p = "http." + r.statPrefix() + ".ext_proc." + filterPrefix;
    var s = r.stats();
    return new ExtProcStats(s.counter(p + "streams_started"), s.counter(p + "stream_msgs_sent"),
        s.counter(p + "stream_msgs_received"), s.counter(p + "spurious_msgs_received"), s.counter(p + "streams_closed"),
        s.counter(p + "streams_failed"), s.counter(p + "failure_mode_allowed"), s.counter(p + "message_timeouts"),
        s.counter(p + "rejected_header_mutations"), s.counter(p + "clear_route_cache_ignored"),
        s.counter(p + "override_message_timeout_received"), s.counter(p + "override_message_timeout_ignored"),
        s.counter(p + "clear_route_cache_disabled"), s.counter(p + "streamed_body_conflicts"));
  }
}
