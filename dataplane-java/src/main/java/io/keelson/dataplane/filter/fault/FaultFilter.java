package io.keelson.dataplane.filter.fault;

import io.keelson.dataplane.filter.ExchangeEndHook;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * Envoy's fault injection: a delay, then an abort, each for a share of requests, optionally taken
 * from the request's {@code x-envoy-fault-*} headers, at most {@code max_active_faults} at once.
 * Immutable apart from its shared counters; thread-safe.
 */
final class FaultFilter implements HttpFilter {
  static final String ABORT = "x-envoy-fault-abort-request";
  static final String ABORT_GRPC = "x-envoy-fault-abort-grpc-request";
  static final String ABORT_PERCENT = "x-envoy-fault-abort-request-percentage";
  static final String DELAY = "x-envoy-fault-delay-request";
  static final String DELAY_PERCENT = "x-envoy-fault-delay-request-percentage";
  static final String ABORT_BODY = "fault filter abort";

  private final FaultConfig config;
  private final FaultStats stats;
  private final FilterRandom random;
  private final ExchangeEndHook release;

  FaultFilter(FaultConfig config, FaultStats stats, FilterRandom random) {
    this.config = config;
    this.stats = stats;
    this.random = random;
    this.release = stats.activeFaults()::decrementAndGet;
  }

  @Override
  public void onRequest(FilterContext context) {
    long delayMs = delayMillis(context);
    int httpStatus = 0;
    int grpcStatus = -1;
    if (config.hasAbort()) {
      httpStatus = config.httpStatus();
      grpcStatus = config.grpcStatus();
      if (config.headerAbort()) {
        httpStatus = parse(context.head.header(ABORT), 200, 599, 0);
        grpcStatus = parse(context.head.header(ABORT_GRPC), 0, Integer.MAX_VALUE, -1);
      }
      if ((httpStatus == 0 && grpcStatus < 0) || !percent(context, config.abortPercent(), config.headerAbort(), ABORT_PERCENT)) {
        httpStatus = 0;
        grpcStatus = -1;
      }
    }
    boolean abort = httpStatus != 0 || grpcStatus >= 0;
    if (delayMs <= 0 && !abort) {
      return;
    }
    long max = config.maxActiveFaults();
    if (max >= 0 && stats.activeFaults().get() >= max) {
      stats.faultsOverflow().increment();
      return;
    }
    stats.activeFaults().incrementAndGet();
    context.onExchangeEnd(release);
    if (delayMs > 0) {
      stats.delaysInjected().increment();
      context.delay(delayMs * 1_000_000L, ResponseFlag.DI);
    }
    if (abort) {
      stats.abortsInjected().increment();
      if (grpcStatus >= 0) {
        // A gRPC trailers-only response: HTTP 200 with the status in the headers.
        context.localReply(200, "", "content-type: application/grpc\r\ngrpc-status: " + grpcStatus
            + "\r\ngrpc-message: " + ABORT_BODY + "\r\n", ResponseFlag.FI);
      } else {
        context.localReply(httpStatus, ABORT_BODY, null, ResponseFlag.FI);
      }
    }
  }

  /** The delay to inject in milliseconds, or 0. */
  private long delayMillis(FilterContext context) {
    if (!config.hasDelay()) {
      return 0;
    }
    long ms;
    if (config.headerDelay()) {
      ms = parse(context.head.header(DELAY), 0, Integer.MAX_VALUE, 0);
    } else {
      ms = config.fixedDelay().toMillis();
    }
    if (ms <= 0 || !percent(context, config.delayPercent(), config.headerDelay(), DELAY_PERCENT)) {
      return 0;
    }
    return ms;
  }

  /** Samples the configured share, or (header-controlled) the header's numerator capped at the configured one. */
  private boolean percent(FilterContext context, Percent configured, boolean fromHeaders, String header) {
    Percent p = configured;
    if (fromHeaders) {
      long n = parse(context.head.header(header), 0, Integer.MAX_VALUE, -1);
      if (n >= 0) {
        p = configured.withNumerator(Math.min(n, configured.numerator()));
      }
    }
    return p.sample(random);
  }

  private static int parse(String value, int min, int max, int otherwise) {
    if (value == null) {
      return otherwise;
    }
    try {
      int v = Integer.parseInt(value.trim());
      return v < min || v > max ? otherwise : v;
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }
}
