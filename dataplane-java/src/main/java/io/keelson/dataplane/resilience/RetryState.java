package io.keelson.dataplane.resilience;

import io.keelson.dataplane.balance.HostPredicate;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.stats.ClusterStats;
import java.util.SplittableRandom;

/**
 * The retry state machine of one request, independent of the protocol: the codec reports each try's
 * outcome ({@link #retriableStatus}, {@link #retriableReset}, ...) and asks {@link #tryRetry} whether to
 * try again; this class applies retry_on, num_retries, the max_retries breaker or retry budget, the
 * backoff and the previous-hosts predicate, and counts Envoy's upstream_rq_retry* stats. One object per
 * stream, reused by the next request with {@link #begin}. Confined to the stream's thread, except
 * {@link #rejects}, which the balance stage calls while the stream waits for its decision.
 */
public final class RetryState implements HostPredicate {
  /** What {@link #tryRetry} decided. */
  public enum Decision { RETRY, LIMIT_EXCEEDED, OVERFLOW }

  private static final int GRPC_CANCELLED = 1;
  private static final int GRPC_DEADLINE_EXCEEDED = 4;
  private static final int GRPC_RESOURCE_EXHAUSTED = 8;
  private static final int GRPC_UNAVAILABLE = 14;

  private final SplittableRandom random;
  private RetryPolicy policy;
  private CircuitBreakers.Resources resources;
  private CircuitBreakerConfig.Thresholds thresholds;
  private ClusterStats stats;
  private int retriesDone;
  private boolean holdingRetry;
  /** Hosts tried so far (indices below 64; more are never rejected). */
  private volatile long triedHosts;

  public RetryState(SplittableRandom random) {
    this.random = random;
  }

  /** Starts a request under {@code policy} (null: no retries). */
  public void begin(RetryPolicy policy, CircuitBreakers.Resources resources, CircuitBreakerConfig.Thresholds thresholds, ClusterStats stats) {
    end();
    this.policy = policy;
    this.resources = resources;
    this.thresholds = thresholds;
    this.stats = stats;
    this.retriesDone = 0;
    this.triedHosts = 0;
  }

  public boolean enabled() {
    return policy != null && policy.numRetries() > 0;
  }

  public RetryPolicy policy() {
    return policy;
  }

  public int retriesDone() {
    return retriesDone;
  }

  /** True when retry_on has gRPC conditions, so the caller should look up grpc-status. */
  public boolean wantsGrpcStatus() {
    return policy != null && (policy.retryOn() & RetryPolicy.RETRY_ON_GRPC_ANY) != 0;
  }

  /** True when a response with {@code status} (and gRPC status header value, or null) may be retried. */
  public boolean retriableStatus(int status, CharSequence grpcStatus) {
    if (policy == null) {
      return false;
    }
    int on = policy.retryOn();
    if ((on & RetryPolicy.RETRY_ON_5XX) != 0 && status >= 500) {
      return true;
    }
    if ((on & RetryPolicy.RETRY_ON_GATEWAY_ERROR) != 0 && (status == 502 || status == 503 || status == 504)) {
      return true;
    }
    if ((on & RetryPolicy.RETRY_ON_RETRIABLE_4XX) != 0 && status == 409) {
      return true;
    }
    if ((on & RetryPolicy.RETRY_ON_RETRIABLE_STATUS_CODES) != 0 && policy.isRetriableStatusCode(status)) {
      return true;
    }
    if ((on & RetryPolicy.RETRY_ON_GRPC_ANY) != 0 && grpcStatus != null) {
      int g = parseSmallInt(grpcStatus);
      return (g == GRPC_CANCELLED && (on & RetryPolicy.RETRY_ON_GRPC_CANCELLED) != 0)
          || (g == GRPC_DEADLINE_EXCEEDED && (on & RetryPolicy.RETRY_ON_GRPC_DEADLINE_EXCEEDED) != 0)
          || (g == GRPC_RESOURCE_EXHAUSTED && (on & RetryPolicy.RETRY_ON_GRPC_RESOURCE_EXHAUSTED) != 0)
          || (g == GRPC_UNAVAILABLE && (on & RetryPolicy.RETRY_ON_GRPC_UNAVAILABLE) != 0);
    }
    return false;
  }

  /** A reset, a disconnect or a per-try timeout before any response: retried under 5xx, gateway-error and reset. */
  public boolean retriableReset() {
    return policy != null
        && (policy.retryOn() & (RetryPolicy.RETRY_ON_5XX | RetryPolicy.RETRY_ON_GATEWAY_ERROR | RetryPolicy.RETRY_ON_RESET)) != 0;
  }

  /** An HTTP/2 upstream stream reset with REFUSED_STREAM: retried under refused-stream, and under everything that retries resets. */
  public boolean retriableRefusedStream() {
    return retriableReset() || (policy != null && (policy.retryOn() & RetryPolicy.RETRY_ON_REFUSED_STREAM) != 0);
  }

  /** A failed connect: retried under connect-failure, and under everything that retries resets. */
  public boolean retriableConnectFailure() {
    return retriableReset() || (policy != null && (policy.retryOn() & RetryPolicy.RETRY_ON_CONNECT_FAILURE) != 0);
  }

  /**
   * Asks for one more try after a retriable outcome: within num_retries, and within the max_retries
   * breaker (or retry budget). Counts the outcome. On RETRY the caller waits {@link #backoffNanos} first.
   */
  public Decision tryRetry() {
    if (retriesDone >= policy.numRetries()) {
      stats.rqRetryLimitExceeded.increment();
      return Decision.LIMIT_EXCEEDED;
    }
    releaseRetry();
    if (!resources.tryAcquireRetry(thresholds)) {
      stats.rqRetryOverflow.increment();
      return Decision.OVERFLOW;
    }
    holdingRetry = true;
    retriesDone++;
    stats.rqRetry.increment();
    return Decision.RETRY;
  }

  /** Full-jitter exponential backoff before the retry just granted: uniform in [0, min(max, base × 2^(n-1))). */
  public long backoffNanos() {
    long base = policy.baseInterval().toNanos();
    long max = policy.maxInterval().toNanos();
    long ceiling = base << Math.min(30, retriesDone - 1);
    if (ceiling <= 0 || ceiling > max) {
      ceiling = max;
    }
    return ceiling <= 0 ? 0 : random.nextLong(ceiling);
  }

  /** The host of the try about to start. */
  public void onHostTried(int endpoint) {
    if (endpoint >= 0 && endpoint < 64) {
      triedHosts |= 1L << endpoint;
    }
  }

  @Override
  public boolean rejects(int endpoint) {
    return policy != null && policy.previousHostsPredicate() && endpoint < 64 && (triedHosts & (1L << endpoint)) != 0;
  }

  @Override
  public int hostSelectionAttempts() {
    return policy == null ? 0 : policy.hostSelectionRetryMaxAttempts();
  }

  /** The request ended with a response that was not retried: counts a successful retry when there was one. */
  public void onFinalResponse(boolean retriableOutcome) {
    if (retriesDone > 0 && !retriableOutcome) {
      stats.rqRetrySuccess.increment();
    }
  }

  /** The request is over: gives back the retry slot it holds. Idempotent. */
  public void end() {
    releaseRetry();
    policy = null;
  }

  private void releaseRetry() {
    if (holdingRetry) {
      holdingRetry = false;
      resources.releaseRetry();
    }
  }

  private static int parseSmallInt(CharSequence s) {
    int v = 0;
    int n = s.length();
    if (n == 0 || n > 3) {
      return -1;
    }
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
}
