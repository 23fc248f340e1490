package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * One ext_proc filter's processor, its counters, and what its answers mean, shared by the requests' Process streams
 * ({@link ProcessorSession}): an immediate response, another phase's answer (a protocol violation: a 500), an
 * unreadable answer or a failed stream (a 500) or no answer within message_timeout (a 504), the last three let
 * through unchanged with failure_mode_allow. Immutable and thread-safe.
 */
final class ProcessorStream {
  static final String PATH = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";
  private static final CheckOutcome PROCESSING_FAILED = CheckOutcome.deny(500, "", null, ResponseFlag.NONE);
  /** Envoy's onMessageTimeout answers 504 (GatewayTimeout). */
  private static final CheckOutcome MESSAGE_TIMEOUT = CheckOutcome.deny(504, "", null, ResponseFlag.NONE);

  final ExtProcConfig config;
  final ExtProcStats stats;

  ProcessorStream(ExtProcConfig config, ExtProcStats stats) {
    this.config = config;
    this.stats = stats;
  }

  /**
   * The outcome of the processor's answer {@code r} to a phase: an immediate response answers the client, anything
   * else is the phase's own {@code answer}.
   */
  CheckOutcome outcome(ProcessingResponse r, Function<ProcessingResponse, CheckOutcome> answer) {
    return r.getResponseCase() == ProcessingResponse.ResponseCase.IMMEDIATE_RESPONSE ? immediate(r.getImmediateResponse())
        : answer.apply(r);
  }

  /** An answer that is not a ProcessingResponse (or is compressed): the stream fails. */
  CheckOutcome unreadable() {
    return streamFailed();
  }

  /** A phase's CommonResponse Keelson cannot apply (a body or trailers it does not hold). */
  boolean unusable(CommonResponse common) {
    if (common.hasBodyMutation() || common.hasTrailers()) {
      stats.spuriousMsgsReceived().increment();
      return true;
    }
    return false;
  }

  /**
   * {@code allowed} with the route chosen again after a request-headers answer that changed headers, as Envoy's
   * route_cache_action says: DEFAULT when the answer asks it (clear_route_cache), CLEAR always, RETAIN never (an ask
   * counted in clear_route_cache_disabled). Without a header mutation an ask is counted in clear_route_cache_ignored.
   */
  CheckOutcome clearingRouteCache(CommonResponse common, CheckOutcome allowed) {
    boolean asked = common.getClearRouteCache();
    if (!common.hasHeaderMutation()) {
      if (asked) {
        stats.clearRouteCacheIgnored().increment();
      }
      return allowed;
    }
    return switch (config.routeCacheAction()) {
      case CLEAR -> allowed.withRouteCacheCleared(); // whatever the answer's bit says
      case RETAIN -> {
        if (asked) {
          stats.clearRouteCacheDisabled().increment();
        }
        yield allowed;
      }
      default -> asked ? allowed.withRouteCacheCleared() : allowed;
    };
  }

  /** clear_route_cache on an answer it is not acted on for (response phases, the request body): counted. */
  void clearRouteCacheIgnored(CommonResponse common) {
    if (common.getClearRouteCache()) {
      stats.clearRouteCacheIgnored().increment();
    }
  }

  /** Another phase's answer: a protocol violation, as Envoy treats it. */
  CheckOutcome spurious() {
    stats.spuriousMsgsReceived().increment();
    return failed();
  }

  private CheckOutcome immediate(ImmediateResponse r) {
    int code = r.hasStatus() ? r.getStatus().getCodeValue() : 200;
    int status = code >= 200 && code <= 599 ? code : 200;
    String lines = ProcessorMutations.replyLines(r.getHeaders(), stats.rejectedHeaderMutations());
    if (r.hasGrpcStatus()) {
      String grpc = "grpc-status: " + r.getGrpcStatus().getStatus() + "\r\n";
      lines = lines == null ? grpc : lines + grpc;
    }
    return CheckOutcome.deny(status, r.getBody().toString(StandardCharsets.UTF_8), lines, ResponseFlag.NONE);
  }

  /** No answer within message_timeout: Envoy's onMessageTimeout. */
  CheckOutcome messageTimedOut() {
    stats.messageTimeouts().increment();
    return failed(MESSAGE_TIMEOUT);
  }

  /** The stream failed (reset, closed, ended by the processor) with a phase outstanding. */
  CheckOutcome streamFailed() {
    stats.streamsFailed().increment();
    return failed();
  }

  /** A failed phase: a 500, or with failure_mode_allow the exchange goes on unchanged. */
  CheckOutcome failed() {
    return failed(PROCESSING_FAILED);
  }

  /** As {@link #failed()}, answering {@code answer} without failure_mode_allow (504 for a message timeout, as Envoy). */
  private CheckOutcome failed(CheckOutcome answer) {
    if (config.failureModeAllow()) {
      stats.failureModeAllowed().increment();
      return CheckOutcome.ALLOW;
    }
    return answer;
  }

  static HeaderValue field(String name, String value) {
    return HeaderValue.newBuilder().setKey(name).setRawValue(ByteString.copyFromUtf8(value)).build();
  }
}
