package io.keelson.dataplane.filter.fault;

import io.keelson.dataplane.filter.Percent;
import java.time.Duration;

/**
 * Envoy's HTTPFault, as Keelson runs it. Immutable.
 *
 * @param fixedDelay       delay.fixed_delay, or null (no fixed delay)
 * @param headerDelay      delay.header_delay: the delay comes from x-envoy-fault-delay-request (ms)
 * @param delayPercent     delay.percentage (0% when absent, as in Envoy), or null when there is no delay
 * @param httpStatus       abort.http_status, or 0
 * @param grpcStatus       abort.grpc_status, or -1
 * @param headerAbort      abort.header_abort: the status comes from x-envoy-fault-abort-request / -grpc-request
 * @param abortPercent     abort.percentage (0% when absent, as in Envoy), or null when there is no abort
 * @param maxActiveFaults  max_active_faults, or -1 for no limit
 */
public record FaultConfig(
    Duration fixedDelay,
    boolean headerDelay,
    Percent delayPercent,
    int httpStatus,
    int grpcStatus,
    boolean headerAbort,
    Percent abortPercent,
    long maxActiveFaults) {

  public boolean hasDelay() {
    return delayPercent != null;
  }

  public boolean hasAbort() {
    return abortPercent != null;
  }
}
