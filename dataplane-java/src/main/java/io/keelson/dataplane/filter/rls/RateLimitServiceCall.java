package io.keelson.dataplane.filter.rls;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.GrpcUnary;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * One request's {@code envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit} call (a unary gRPC side call
 * to the rate limit service's cluster, {@link GrpcUnary} over {@link SideCall}) and what its answer does, as Envoy's ratelimit filter:
 * OVER_LIMIT answers the rate-limited status with {@code x-envoy-ratelimited: true} and the answer's
 * response_headers_to_add; OK (or UNKNOWN) lets the request through with request_headers_to_add appended upstream and
 * response_headers_to_add on the response; a failed call (no endpoint, transport, timeout, gRPC error, bad answer)
 * lets it through, or with failure_mode_deny answers status_on_error (500). Made per request by
 * {@link RateLimitFilter}; {@link #start} runs on the connection's event loop.
 */
final class RateLimitServiceCall implements ExternalCheck {
  static final String PATH = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";

  private final RateLimitConfig config;
  private final RateLimitStats.Counters stats;
  private final List<RateLimitDescriptor> descriptors;

  RateLimitServiceCall(RateLimitConfig config, RateLimitStats.Counters stats, List<RateLimitDescriptor> descriptors) {
    this.config = config;
    this.stats = stats;
    this.descriptors = descriptors;
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    byte[] message = RateLimitRequest.newBuilder().setDomain(config.domain()).addAllDescriptors(descriptors).build().toByteArray();
    return SideCall.send(request.loop(), request.calls(), request.snapshot(), config.cluster(), config.timeoutNanos(),
        RateLimitConfig.MAX_RESPONSE_BODY_BYTES, () -> GrpcUnary.request(PATH, config.authority(), config.timeoutNanos(),
            message), this::answer, this::failure, done);
  }

  CheckOutcome answer(UpstreamCalls.Response response) {
    ByteBuffer b = GrpcUnary.message(response);
    if (b == null) {
      return failure();
    }
    RateLimitResponse r;
    try {
      r = RateLimitResponse.parseFrom(b);
    } catch (InvalidProtocolBufferException e) {
      return failure();
    }
    StringBuilder responseLines = new StringBuilder();
    if (config.xRateLimitHeaders()) {
      String x = XRateLimitHeaders.lines(r.getStatusesList());
      if (x != null) {
        responseLines.append(x);
      }
    }
    for (HeaderValue h : r.getResponseHeadersToAddList()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (io.keelson.dataplane.filter.ServerHeaderField.valid(name, h.getValue())) {
        responseLines.append(name).append(": ").append(h.getValue()).append("\r\n");
      }
    }
    if (r.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT) {
      stats.overLimit().increment();
      String lines = (config.xEnvoyRateLimitedHeader() ? "x-envoy-ratelimited: true\r\n" : "") + responseLines;
      return CheckOutcome.deny(config.rateLimitedStatus(), "", lines.isEmpty() ? null : lines, ResponseFlag.RL);
    }
    stats.ok().increment();
    List<HeaderMutations.HeaderValue> add = new ArrayList<>(r.getRequestHeadersToAddCount());
    for (HeaderValue h : r.getRequestHeadersToAddList()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (io.keelson.dataplane.filter.ServerHeaderField.valid(name, h.getValue()) && !name.equals("host")) {
        add.add(new HeaderMutations.HeaderValue(name, h.getValue(), true)); // Envoy appends them
      }
    }
    return CheckOutcome.allow(add.isEmpty() ? HeaderMutations.NONE : new HeaderMutations(add, List.of()),
        responseLines.isEmpty() ? null : responseLines.toString());
  }

  /** The call failed: through (failure_mode_allowed counted), or status_on_error with failure_mode_deny. */
  private CheckOutcome failure() {
    stats.error().increment();
    if (config.failureModeDeny()) {
      return CheckOutcome.deny(config.statusOnError(), "", null, ResponseFlag.RLSE);
    }
    stats.failureModeAllowed().increment();
    return CheckOutcome.ALLOW;
  }
}
