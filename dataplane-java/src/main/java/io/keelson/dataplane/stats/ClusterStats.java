package io.keelson.dataplane.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * Upstream counters of one cluster (Envoy's {@code cluster.<name>.*}), kept across snapshots by name.
 * Thread-safe: written by every event loop, read by the admin thread.
 */
public final class ClusterStats {
  final String name;
  public final LongAdder rqTotal = new LongAdder();
  public final LongAdder rqActive = new LongAdder();
  public final LongAdder rqTimeout = new LongAdder();
  public final LongAdder cxTotal = new LongAdder();
  public final LongAdder cxActive = new LongAdder();
  public final LongAdder cxConnectFail = new LongAdder();
  public final LongAdder cxConnectTimeout = new LongAdder();
  public final LongAdder rqResetBeforeResponse = new LongAdder();
  public final LongAdder noHealthyUpstream = new LongAdder();
  /** grpc_json_transcoder_upstream_not_http2 (Keelson's): a transcoded request answered 503, the cluster not HTTP/2. */
  public final LongAdder transcoderNotHttp2 = new LongAdder();
  /** update_attempt / update_success / update_failure: a DNS cluster's lookups (each refresh of every host name). */
  public final LongAdder updateAttempt = new LongAdder();
  public final LongAdder updateSuccess = new LongAdder();
  public final LongAdder updateFailure = new LongAdder();
  // ---- circuit breakers, retries, outlier detection (Envoy's names in the comments)
  /** upstream_rq_pending_overflow: max_pending_requests or max_requests reached. */
  public final LongAdder rqPendingOverflow = new LongAdder();
  /** upstream_cx_overflow: max_connections reached. */
  public final LongAdder cxOverflow = new LongAdder();
  /** upstream_rq_retry */
  public final LongAdder rqRetry = new LongAdder();
  /** upstream_rq_retry_success */
  public final LongAdder rqRetrySuccess = new LongAdder();
  /** upstream_rq_retry_overflow: a retry refused by max_retries or the retry budget. */
  public final LongAdder rqRetryOverflow = new LongAdder();
  /** upstream_rq_retry_limit_exceeded: num_retries used up. */
  public final LongAdder rqRetryLimitExceeded = new LongAdder();
  /** upstream_rq_per_try_timeout */
  public final LongAdder rqPerTryTimeout = new LongAdder();
  /** outlier_detection.ejections_enforced_total */
  public final LongAdder ejectionsEnforcedTotal = new LongAdder();
  /** outlier_detection.ejections_overflow: not ejected because of max_ejection_percent. */
  public final LongAdder ejectionsOverflow = new LongAdder();
  /** outlier_detection.ejections_detected_* and ejections_enforced_*, by {@link EjectionType}. */
  public final LongAdder[] ejectionsDetected = newTypes();
  public final LongAdder[] ejectionsEnforced = newTypes();

  /** Why outlier detection ejected an endpoint; {@link #statName} is Envoy's suffix. */
  public enum EjectionType {
    CONSECUTIVE_5XX("consecutive_5xx"),
    CONSECUTIVE_GATEWAY_FAILURE("consecutive_gateway_failure"),
    SUCCESS_RATE("success_rate"),
    FAILURE_PERCENTAGE("failure_percentage"),
    CONSECUTIVE_LOCAL_ORIGIN_FAILURE("consecutive_local_origin_failure");

    public final String statName;

    EjectionType(String statName) {
      this.statName = statName;
    }
  }

  private static LongAdder[] newTypes() {
    LongAdder[] a = new LongAdder[EjectionType.values().length];
    for (int i = 0; i < a.length; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }
  private final LongAdder[] rqByClass = HttpStats.newClasses();
  /** Istio's request metrics towards this cluster. */
  public final IstioDestination istio;

  ClusterStats(String name) {
    this.name = name;
    this.istio = new IstioDestination(name);
  }

  public void recordResponse(int status) {
    rqByClass[Math.min(5, Math.max(1, status / 100))].increment();
  }

  public long responses(int statusClass) {
    return rqByClass[statusClass].sum();
  }
}
