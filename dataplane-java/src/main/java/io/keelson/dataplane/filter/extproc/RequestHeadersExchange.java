package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.GrpcUnary;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.handler.codec.http.FullHttpRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The request-headers phase of Envoy's ext_proc protocol: one {@code envoy.service.ext_proc.v3.ExternalProcessor/
 * Process} stream on the processor's HTTP/2 cluster (pooled like any request, {@link SideCall}) carrying one
 * {@code ProcessingRequest{request_headers}} (pseudo-headers and every header field, values in {@code raw_value} as
 * Envoy sends them) and closed by Keelson after it, since no later phase is sent; the processor's one answer is
 * either {@code request_headers} (its {@code CommonResponse}'s header mutation, checked by
 * {@link ProcessorMutations}, is applied to the request before the filters after ext_proc run and before it is
 * forwarded) or {@code immediate_response} (its status, headers, body and grpc_status answer the client; the
 * upstream never sees the request). No answer within message_timeout is a 504 (Envoy's onMessageTimeout); anything
 * else (another phase's answer, a body mutation Keelson cannot apply, a failed stream) a 500; either lets the request
 * through unchanged with failure_mode_allow. Immutable and shared; {@link #start} runs on the connection's event loop.
 */
final class RequestHeadersExchange implements ExternalCheck {
  static final String PATH = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";
  private static final CheckOutcome PROCESSING_FAILED = CheckOutcome.deny(500, "", null, ResponseFlag.NONE);
  private static final CheckOutcome MESSAGE_TIMEOUT = CheckOutcome.deny(504, "", null, ResponseFlag.NONE);

  private final ExtProcConfig config;
  private final ExtProcStats stats;

  RequestHeadersExchange(ExtProcConfig config, ExtProcStats stats) {
    this.config = config;
    this.stats = stats;
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    ProcessingRequest message = processingRequest(request, present);
    stats.streamsStarted().increment();
    stats.streamMsgsSent().increment();
    return SideCall.send(request.loop(), request.calls(), request.snapshot(), config.cluster(),
        config.callTimeoutNanos(), ExtProcConfig.MAX_RESPONSE_BYTES,
        () -> stream(message),
        response -> answer(response, present), this::failure, done);
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

  /** The request_headers message; fills {@code present} with the request's lower-case header names. */
  static ProcessingRequest processingRequest(CheckedRequest request, Set<String> present) {
    RequestHead head = request.head();
    HeaderMap.Builder headers = HeaderMap.newBuilder();
    String scheme = head.scheme() != null ? head.scheme() : request.tls() ? "https" : "http";
    String path = head.path() + (head.query() == null ? "" : "?" + head.query());
    headers.addHeaders(field(":authority", head.authority() == null ? "" : head.authority()));
    headers.addHeaders(field(":method", head.method()));
    headers.addHeaders(field(":path", path));
    headers.addHeaders(field(":scheme", scheme));
    request.headers().forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.startsWith(":")) {
        return;
      }
      present.add(lower);
      headers.addHeaders(field(lower, value));
    });
    return ProcessingRequest.newBuilder().setRequestHeaders(HttpHeaders.newBuilder().setHeaders(headers)
        .setEndOfStream(request.endOfStream())).build();
  }

  private static HeaderValue field(String name, String value) {
    return HeaderValue.newBuilder().setKey(name).setRawValue(ByteString.copyFromUtf8(value)).build();
  }

  CheckOutcome answer(UpstreamCalls.Response response, Set<String> present) {
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
    return switch (r.getResponseCase()) {
      case REQUEST_HEADERS -> continueWith(r.getRequestHeaders().getResponse(), present);
      case IMMEDIATE_RESPONSE -> immediate(r.getImmediateResponse());
      default -> { // another phase's answer: a protocol violation, as Envoy treats it
        stats.spuriousMsgsReceived().increment();
        yield failed();
      }
    };
  }

  private CheckOutcome continueWith(CommonResponse common, Set<String> present) {
    if (common.hasBodyMutation() || common.hasTrailers()) {
      stats.spuriousMsgsReceived().increment(); // Keelson does not buffer the body: it cannot replace it here
      return failed();
    }
    if (common.getClearRouteCache()) {
      stats.clearRouteCacheIgnored().increment();
    }
    HeaderMutations m = ProcessorMutations.forRequest(common.getHeaderMutation(), present, stats.rejectedHeaderMutations());
    return CheckOutcome.allow(m);
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

  private CheckOutcome failed() {
    return failed(PROCESSING_FAILED);
  }

  private CheckOutcome failed(CheckOutcome answer) {
    if (config.failureModeAllow()) {
      stats.failureModeAllowed().increment();
      return CheckOutcome.ALLOW;
    }
    return answer;
  }
}
