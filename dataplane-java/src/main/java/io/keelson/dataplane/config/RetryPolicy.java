package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * Envoy's route or virtual-host {@code retry_policy}. Immutable.
 *
 * @param retryOn                       bit set of {@code RetryPolicy.RETRY_ON_*} conditions
 * @param numRetries                    retries after the first try (Envoy default 1)
 * @param perTryTimeout                 timeout of each try, ZERO for none (the route timeout still applies)
 * @param baseInterval                  backoff base (default 25 ms); the n-th retry waits a uniformly random
 *                                      time in [0, min(maxInterval, base * 2^(n-1)))
 * @param maxInterval                   backoff cap (default 10 × base)
 * @param retriableStatusCodes          statuses retried under {@code retriable-status-codes}
 * @param previousHostsPredicate        envoy.retry_host_predicates.previous_hosts: a retry avoids hosts already tried
 * @param hostSelectionRetryMaxAttempts how many times host selection is redone when the predicate rejects a host (default 1)
 * @param perRequestBufferLimitBytes    request bodies longer than this are not retried
 */
public record RetryPolicy(
    int retryOn,
    int numRetries,
    Duration perTryTimeout,
    Duration baseInterval,
    Duration maxInterval,
    int[] retriableStatusCodes,
    boolean previousHostsPredicate,
    int hostSelectionRetryMaxAttempts,
    int perRequestBufferLimitBytes) {

  public static final int RETRY_ON_5XX = 1;
  public static final int RETRY_ON_GATEWAY_ERROR = 1 << 1;
  public static final int RETRY_ON_RESET = 1 << 2;
  public static final int RETRY_ON_CONNECT_FAILURE = 1 << 3;
  public static final int RETRY_ON_RETRIABLE_4XX = 1 << 4;
  public static final int RETRY_ON_RETRIABLE_STATUS_CODES = 1 << 5;
  public static final int RETRY_ON_GRPC_CANCELLED = 1 << 6;
  public static final int RETRY_ON_GRPC_DEADLINE_EXCEEDED = 1 << 7;
  public static final int RETRY_ON_GRPC_RESOURCE_EXHAUSTED = 1 << 8;
  public static final int RETRY_ON_GRPC_UNAVAILABLE = 1 << 9;
  /** HTTP/2 REFUSED_STREAM; accepted for Istio's default retry_on, never seen on HTTP/1.1. */
  public static final int RETRY_ON_REFUSED_STREAM = 1 << 10;
  public static final int RETRY_ON_GRPC_ANY =
      RETRY_ON_GRPC_CANCELLED | RETRY_ON_GRPC_DEADLINE_EXCEEDED | RETRY_ON_GRPC_RESOURCE_EXHAUSTED | RETRY_ON_GRPC_UNAVAILABLE;

  /** Default buffer limit for replaying request bodies when the listener sets none. */
  public static final int DEFAULT_BUFFER_LIMIT_BYTES = 64 * 1024;

  public RetryPolicy {
    retriableStatusCodes = retriableStatusCodes.clone();
  }

  /** Envoy's defaults for what a request's headers set without a route policy: backoff 25 ms to 250 ms, no per-try timeout. */
  public static RetryPolicy defaults(int retryOn, int numRetries) {
    return new RetryPolicy(retryOn, numRetries, Duration.ZERO, Duration.ofMillis(25), Duration.ofMillis(250), new int[0],
        false, 1, DEFAULT_BUFFER_LIMIT_BYTES);
  }

  /** This policy with other conditions and number of retries. */
  public RetryPolicy withRetries(int on, int num) {
    return new RetryPolicy(on, num, perTryTimeout, baseInterval, maxInterval, retriableStatusCodes, previousHostsPredicate,
        hostSelectionRetryMaxAttempts, perRequestBufferLimitBytes);
  }

  /** This policy with another per-try timeout (ZERO for none). */
  public RetryPolicy withPerTryTimeout(Duration timeout) {
    return new RetryPolicy(retryOn, numRetries, timeout, baseInterval, maxInterval, retriableStatusCodes,
        previousHostsPredicate, hostSelectionRetryMaxAttempts, perRequestBufferLimitBytes);
  }

  /** The retry_on bit of one Envoy condition name, or 0 when the name is unknown. */
  public static int condition(String name) {
    return switch (name) {
      case "5xx" -> RETRY_ON_5XX;
      case "gateway-error" -> RETRY_ON_GATEWAY_ERROR;
      case "reset" -> RETRY_ON_RESET;
      case "connect-failure" -> RETRY_ON_CONNECT_FAILURE;
      case "retriable-4xx" -> RETRY_ON_RETRIABLE_4XX;
      case "retriable-status-codes" -> RETRY_ON_RETRIABLE_STATUS_CODES;
      case "refused-stream" -> RETRY_ON_REFUSED_STREAM;
      case "cancelled" -> RETRY_ON_GRPC_CANCELLED;
      case "deadline-exceeded" -> RETRY_ON_GRPC_DEADLINE_EXCEEDED;
      case "resource-exhausted" -> RETRY_ON_GRPC_RESOURCE_EXHAUSTED;
      case "unavailable" -> RETRY_ON_GRPC_UNAVAILABLE;
      default -> 0;
    };
  }

  @Override
  public int[] retriableStatusCodes() {
    return retriableStatusCodes.clone();
  }

  /** True when {@code status} is one of the retriable status codes (no copy). */
  public boolean isRetriableStatusCode(int status) {
    for (int c : retriableStatusCodes) {
      if (c == status) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RetryPolicy p && retryOn == p.retryOn && numRetries == p.numRetries
        && perTryTimeout.equals(p.perTryTimeout) && baseInterval.equals(p.baseInterval)
        && maxInterval.equals(p.maxInterval) && java.util.Arrays.equals(retriableStatusCodes, p.retriableStatusCodes)
        && previousHostsPredicate == p.previousHostsPredicate
        && hostSelectionRetryMaxAttempts == p.hostSelectionRetryMaxAttempts
        && perRequestBufferLimitBytes == p.perRequestBufferLimitBytes;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(retryOn, numRetries, perTryTimeout, java.util.Arrays.hashCode(retriableStatusCodes));
  }
}
