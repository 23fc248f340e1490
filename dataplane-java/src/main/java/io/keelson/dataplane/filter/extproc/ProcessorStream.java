package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.GrpcUnary;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One phase's {@code envoy.service.ext_proc.v3.ExternalProcessor/Process} stream on the processor's HTTP/2 cluster
 * (pooled like any request, {@link SideCall}): one {@code ProcessingRequest} sent, Keelson's side closed after it, the
 * processor's one answer parsed; an unreadable answer, a failed stream or no answer within message_timeout is a 500,
 * or lets the exchange through unchanged with failure_mode_allow. Shared by the phases ({@link RequestHeadersExchange},
 * {@link ResponseHeadersExchange}). Immutable; {@link #send} runs on the connection's event loop.
 */
final class ProcessorStream {
  static final String PATH = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";
  private static final CheckOutcome PROCESSING_FAILED = CheckOutcome.deny(500, "", null, ResponseFlag.NONE);
  /** Envoy's onMessageTimeout answers 504 (GatewayTimeout). */
  private static final CheckOutcome MESSAGE_TIMEOUT = CheckOutcome.deny(504, "", null, ResponseFlag.NONE);
  private static final CheckOutcome ALLOW_WITHOUT_RESPONSE = CheckOutcome.ALLOW.withoutResponseCheck();

  final ExtProcConfig config;
  final ExtProcStats stats;

  ProcessorStream(ExtProcConfig config, ExtProcStats stats) {
    this.config = config;
    this.stats = stats;
  }

  /** Sends {@code message}; {@code answer} turns the processor's answer into the outcome {@code done} gets. */
  UpstreamCalls.Call send(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, ProcessingRequest message,
      Function<ProcessingResponse, CheckOutcome> answer, Consumer<CheckOutcome> done) {
    stats.streamsStarted().increment();
    stats.streamMsgsSent().increment();
    return SideCall.send(loop, calls, snapshot, config.cluster(), config.callTimeoutNanos(),
        ExtProcConfig.MAX_RESPONSE_BYTES, () -> stream(message), response -> received(response, answer), this::failure,
        done);
  }

  /**
   * The Process stream carrying {@code message}. Without grpc-timeout, as Envoy opens it: message_timeout is
   * Keelson's own timer (counted in message_timeouts), not a deadline the processor answers DEADLINE_EXCEEDED to.
   */
  private FullHttpRequest stream(ProcessingRequest message) {
    FullHttpRequest r = GrpcUnary.request(PATH, config.authority(), config.callTimeoutNanos(), message.toByteArray());
    r.headers().remove("grpc-timeout");
    return r;
  }

  private CheckOutcome received(UpstreamCalls.Response response, Function<ProcessingResponse, CheckOutcome> answer) {
    ByteBuffer b = GrpcUnary.message(response);
    ProcessingResponse r;
    try {
      r = b == null ? null : ProcessingResponse.parseFrom(b);
    } catch (InvalidProtocolBufferException e) {
      r = null;
    }
    if (r == null) {
      stats.streamsFailed().increment();
      return failed();
    }
    stats.streamMsgsReceived().increment();
    stats.streamsClosed().increment();
    return r.getResponseCase() == ProcessingResponse.ResponseCase.IMMEDIATE_RESPONSE ? immediate(r.getImmediateResponse())
        : answer.apply(r);
  }

  /** A phase's CommonResponse Keelson cannot apply (a body or trailers it does not hold), or counts as ignored. */
  boolean unusable(CommonResponse common) {
    if (common.hasBodyMutation() || common.hasTrailers()) {
      stats.spuriousMsgsReceived().increment();
      return true;
    }
    clearRouteCacheIgnored(common);
    return false;
  }

  /** clear_route_cache is not acted on: counted. */
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

  private CheckOutcome failure(String reason) {
    if (UpstreamCalls.TIMEOUT.equals(reason)) {
      stats.messageTimeouts().increment();
      return failed(MESSAGE_TIMEOUT);
    }
    stats.streamsFailed().increment();
    return failed();
  }

  /**
   * A failed phase: a 500, or with failure_mode_allow the exchange goes on unchanged (without the response-headers
   * phase when it is only sent on a processor's mode_override).
   */
  CheckOutcome failed() {
    return failed(PROCESSING_FAILED);
  }

  /** As {@link #failed()}, answering {@code answer} without failure_mode_allow (504 for a message timeout, as Envoy). */
  private CheckOutcome failed(CheckOutcome answer) {
    if (config.failureModeAllow()) {
      stats.failureModeAllowed().increment();
      return config.modes().responseHeaders() ? CheckOutcome.ALLOW : ALLOW_WITHOUT_RESPONSE;
    }
    return answer;
  }

  static HeaderValue field(String name, String value) {
    return HeaderValue.newBuilder().setKey(name).setRawValue(ByteString.copyFromUtf8(value)).build();
  }
}
