package io.keelson.dataplane.filter.extproc;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * The ext_proc filter's counters, in Envoy's {@code http.<stat_prefix>.ext_proc.*} names. Shared by every ext_proc
 * filter of one connection manager. Thread-safe.
 */
record ExtProcStats(LongAdder streamsStarted, LongAdder streamMsgsSent, LongAdder streamMsgsReceived,
    LongAdder spuriousMsgsReceived, LongAdder streamsClosed, LongAdder streamsFailed, LongAdder failureModeAllowed,
    LongAdder messageTimeouts, LongAdder rejectedHeaderMutations, LongAdder clearRouteCacheIgnored) {

  static ExtProcStats of(FilterResources r) {
    String p = "http." + r.statPrefix() + ".ext_proc.";
    var s = r.stats();
    return new ExtProcStats(s.counter(p + "streams_started"), s.counter(p + "stream_msgs_sent"),
        s.counter(p + "stream_msgs_received"), s.counter(p + "spurious_msgs_received"), s.counter(p + "streams_closed"),
        s.counter(p + "streams_failed"), s.counter(p + "failure_mode_allowed"), s.counter(p + "message_timeouts"),
        s.counter(p + "rejected_header_mutations"), s.counter(p + "clear_route_cache_ignored"));
  }
}
