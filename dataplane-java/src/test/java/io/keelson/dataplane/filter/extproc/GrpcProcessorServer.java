package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A real external processor (grpc-java's envoy.service.ext_proc.v3.ExternalProcessor/Process, a bidirectional stream,
 * on loopback) answering each request_headers message by its {@code :path} (or its {@code x-processor} header): {@code /deny} gets an immediate 403 with a
 * body, {@code x-blocked} and {@code x-envoy-blocked-by} headers and a {@code :status} one (never applied); {@code /slow} is answered after {@link #slowMillis} ({@code /slow-override} first asks for
 * {@link #overrideSeconds} more with override_message_timeout); {@code /wrong} gets a response_headers
 * answer (another phase's: a protocol violation); {@code /no-response-phase} a mode_override skipping response headers
 * ({@code /upper-override} also streaming both bodies, {@code /upper-override-response} the response's); {@code /reframe} removes and zeroes content-length;
 * {@code /reroute...} sets {@code x-route-to: b} with clear_route_cache ({@code /reroute-kept...} without it,
 * {@code /reroute-unchanged...} clear_route_cache alone); {@code /done-after-headers} ends the stream (OK) right after its answer; {@code /hostile} asks for changes Envoy's default mutation rules
 * forbid (host, x-envoy-*, :method) besides {@code x-ok}; anything else sets {@code x-added: processor} and removes
 * {@code x-drop}. A response_headers message is answered by the {@code :path} of its stream's request_headers message:
 * {@code /resp-deny} gets an immediate 409 with a body, {@code /resp-slow} is answered after {@link #slowMillis},
 * anything else sets {@code x-processed: processor}, removes {@code x-upstream} and asks for a {@code :status} change
 * (never applied), {@code /upper-resp-override} with a mode_override streaming the response body, {@code /resp-bodies-off} with one
 * sending no body (Envoy's default mode); {@link #headersOverride} and {@link #laterOverride} add one to every answer. Body messages are answered as {@link #bodyAnswer} and {@link #responseBodyAnswer} say. Records every ProcessingRequest; closes its side once Keelson closed its own and the answer went.
 */
final class GrpcProcessorServer implements AutoCloseable {
  final List<ProcessingRequest> requests = new CopyOnWriteArrayList<>();
  /** Every Process stream the proxy opened, in order. */
  final List<StreamLog> streams = new CopyOnWriteArrayList<>();

  /** What one Process stream carried, and how it ended. */
  static final class StreamLog {
    /** The phase of each message on it, in order. */
    final List<ProcessingRequest.RequestCase> phases = new CopyOnWriteArrayList<>();
    /** "completed" (the proxy half-closed it) or the error that ended it; null while it is open. */
    volatile String end;
  }
  /** The bytes of every body chunk message seen (STREAMED bodies arrive as many). */
  final java.util.concurrent.atomic.AtomicLong bodyBytesSeen = new java.util.concurrent.atomic.AtomicLong();
  /** How long each body message of a {@code /upper-slow} request waits for its answer. */
  volatile long chunkMillis = 5;
  /** The answers to body messages of {@code /upper-gated} requests, held until {@link #openGate}; null once open. */
  private java.util.List<Runnable> gated = new java.util.ArrayList<>();
  /** The mode_override every request_headers answer carries, or null (then only the paths above carry one). */
  volatile ProcessingMode headersOverride;
  /** The mode_override every body and trailers answer carries (Envoy ignores it there), or null. */
  volatile ProcessingMode laterOverride;
  /** How long {@code /slow} waits for its answer. */
  volatile long slowMillis = 3000;
  /** The override_message_timeout {@code /slow-override} asks for before its slow answer. */
  volatile long overrideSeconds = 30;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().unstarted(r));
  private final Server server;

  GrpcProcessorServer() throws IOException {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new ExternalProcessorGrpc.ExternalProcessorImplBase() {
          @Override
          public StreamObserver<ProcessingRequest> process(StreamObserver<ProcessingResponse> out) {
            java.util.concurrent.CompletableFuture<Void> answered = new java.util.concurrent.CompletableFuture<>();
            StreamLog log = new StreamLog();
            streams.add(log);
            return new StreamObserver<>() {
              /** The :path of the stream's request_headers message: the state a processor keeps per request. */
              private volatile String lastPath = "";

              @Override
              public void onNext(ProcessingRequest request) {
                requests.add(request);
                log.phases.add(request.getRequestCase());
                String path = !request.hasRequestHeaders() ? lastPath
                    : !header(request, "x-processor").isEmpty() ? header(request, "x-processor") : header(request, ":path");
                ProcessingResponse plain;
                if (request.hasRequestHeaders()) {
                  lastPath = path;
                  plain = answer(path);
                } else if (request.hasRequestBody()) {
                  plain = bodyAnswer(path);
                } else if (request.hasResponseBody()) {
                  plain = responseBodyAnswer(path);
                } else if (request.hasRequestTrailers() || request.hasResponseTrailers()) {
                  plain = trailersAnswer(request);
                } else {
                  plain = responseAnswer(path, log.phases.size());
                  path = path.startsWith("/resp-slow") ? "/slow" : path;
                }
                ProcessingResponse answer = withOverride(plain, request.hasRequestHeaders() ? headersOverride
                    : request.hasResponseHeaders() ? null : laterOverride);
                if (path.startsWith("/slow-override") && request.hasRequestHeaders()) { // more time, asked at once
                  synchronized (out) {
                    out.onNext(ProcessingResponse.newBuilder().setOverrideMessageTimeout(
                        com.google.protobuf.Duration.newBuilder().setSeconds(overrideSeconds)).build());
                  }
                }
                if (path.startsWith("/done-after-headers")) { // the answer, then OK: processing complete
                  send(out, answer, answered);
                  synchronized (out) {
                    out.onCompleted();
                  }
                  return;
                }
                if (request.hasRequestBody() || request.hasResponseBody()) {
                  bodyBytesSeen.addAndGet(request.hasRequestBody() ? request.getRequestBody().getBody().size()
                      : request.getResponseBody().getBody().size());
                }
                if (path.startsWith("/upper") && (request.hasRequestBody() || request.hasResponseBody())) {
                  ProcessingResponse upper = upperCased(request); // STREAMED: each chunk upper-cased, in order
                  if (path.startsWith("/upper-gated")) {
                    gate(() -> send(out, upper, answered));
                  } else if (path.startsWith("/upper-slow")) {
                    timer.schedule(() -> send(out, upper, answered), chunkMillis, TimeUnit.MILLISECONDS);
                  } else {
                    send(out, upper, answered);
                  }
                  return;
                }
                if (path.startsWith("/slow")) {
                  timer.schedule(() -> send(out, answer, answered), slowMillis, TimeUnit.MILLISECONDS);
                } else {
                  send(out, answer, answered);
                }
              }

              @Override
              public void onError(Throwable t) {
                if (log.end == null) {
                  log.end = t.toString();
                }
                answered.cancel(false);
              }

              /** Keelson closed its side: the stream ends once the answer went out (as a processor finishes its work). */
              @Override
              public void onCompleted() {
                log.end = "completed";
                answered.thenRun(() -> {
                  synchronized (out) {
                    try {
                      out.onCompleted();
                    } catch (RuntimeException cancelled) {
                      // the proxy reset the stream meanwhile
                    }
                  }
                });
              }
            };
          }
        }).build().start();
  }

  /** {@code answer} with {@code override} as its mode_override (unless null). */
  private static ProcessingResponse withOverride(ProcessingResponse answer, ProcessingMode override) {
    return override == null ? answer : answer.toBuilder().setModeOverride(override).build();
  }

  /** Answers now if the gate is open, else once it opens, in order. */
  private synchronized void gate(Runnable answer) {
    if (gated == null) {
      answer.run();
    } else {
      gated.add(answer);
    }
  }

  /** Sends the held {@code /upper-gated} answers, in order, and answers the next ones at once. */
  synchronized void openGate() {
    java.util.List<Runnable> held = gated;
    gated = null;
    held.forEach(Runnable::run);
  }

  private static void send(StreamObserver<ProcessingResponse> out, ProcessingResponse r,
      java.util.concurrent.CompletableFuture<Void> answered) {
    synchronized (out) {
      try {
        out.onNext(r);
      } catch (RuntimeException cancelled) {
        // the proxy gave up on the stream (message_timeout)
      }
    }
    answered.complete(null);
  }

  /**
   * A trailers message's answer: the response's trailers get {@code x-processor-saw-status} (the grpc-status the
   * processor saw) and {@code x-trailer-added}, lose {@code x-drop-trailer}, and an {@code x-envoy-trailer} (refused by
   * Envoy's default mutation rules); the request's get {@code x-request-trailer-added} and lose {@code x-drop-trailer}.
   */
  private static ProcessingResponse trailersAnswer(ProcessingRequest request) {
    if (request.hasRequestTrailers()) {
      return ProcessingResponse.newBuilder().setRequestTrailers(io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse
          .newBuilder().setHeaderMutation(HeaderMutation.newBuilder().addSetHeaders(set("x-request-trailer-added",
              "processor")).addRemoveHeaders("x-drop-trailer"))).build();
    }
    String status = request.getResponseTrailers().getTrailers().getHeadersList().stream()
        .filter(h -> h.getKey().equals("grpc-status")).map(h -> h.getRawValue().toStringUtf8()).findFirst().orElse("none");
    return ProcessingResponse.newBuilder().setResponseTrailers(io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse
        .newBuilder().setHeaderMutation(HeaderMutation.newBuilder().addSetHeaders(set("x-processor-saw-status", status))
            .addSetHeaders(set("x-trailer-added", "processor")).addSetHeaders(set("x-envoy-trailer", "no"))
            .addRemoveHeaders("x-drop-trailer"))).build();
  }

  /** A body message's answer: its chunk upper-cased ({@code /upper...}). */
  private static ProcessingResponse upperCased(ProcessingRequest request) {
    ByteString body = request.hasRequestBody() ? request.getRequestBody().getBody()
        : request.getResponseBody().getBody();
    BodyResponse r = BodyResponse.newBuilder().setResponse(CommonResponse.newBuilder().setBodyMutation(
        BodyMutation.newBuilder().setBody(ByteString.copyFromUtf8(body.toStringUtf8().toUpperCase(
            java.util.Locale.ROOT))))).build();
    return request.hasRequestBody() ? ProcessingResponse.newBuilder().setRequestBody(r).build()
        : ProcessingResponse.newBuilder().setResponseBody(r).build();
  }

  /** The processor's answer to a request_headers message for {@code path}. */
  private static ProcessingResponse answer(String path) {
    if (path.startsWith("/deny")) {
      return ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
          .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Forbidden))
          .setHeaders(HeaderMutation.newBuilder().addSetHeaders(set("x-blocked", "yes"))
              .addSetHeaders(set("x-envoy-blocked-by", "processor")).addSetHeaders(set(":status", "200")))
          .setBody(ByteString.copyFromUtf8("blocked by processor"))).build();
    }
    if (path.startsWith("/wrong")) {
      return ProcessingResponse.newBuilder().setResponseHeaders(HeadersResponse.getDefaultInstance()).build();
    }
    if (path.startsWith("/no-response-phase")) {
      return ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.getDefaultInstance())
          .setModeOverride(ProcessingMode.newBuilder().setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP)).build();
    }
    if (path.startsWith("/upper-override-response")) { // the response body streamed, upper-cased chunk by chunk
      return ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.getDefaultInstance())
          .setModeOverride(ProcessingMode.newBuilder().setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP)
              .setResponseBodyMode(ProcessingMode.BodySendMode.STREAMED)).build();
    }
    if (path.startsWith("/upper-override")) { // both bodies streamed, upper-cased chunk by chunk
      return ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.getDefaultInstance())
          .setModeOverride(ProcessingMode.newBuilder().setResponseHeaderMode(ProcessingMode.HeaderSendMode.SKIP)
              .setRequestBodyMode(ProcessingMode.BodySendMode.STREAMED)
              .setResponseBodyMode(ProcessingMode.BodySendMode.STREAMED)).build();
    }
    if (path.startsWith("/reroute-unchanged")) { // clear_route_cache without a header mutation: Envoy ignores it
      return ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.newBuilder()
          .setResponse(CommonResponse.newBuilder().setClearRouteCache(true))).build();
    }
    HeaderMutation.Builder m = HeaderMutation.newBuilder();
    CommonResponse.Builder common = CommonResponse.newBuilder();
    if (path.startsWith("/reroute")) { // a header the routes match on, and the route chosen again
      m.addSetHeaders(set("x-route-to", "b"));
      common.setClearRouteCache(!path.startsWith("/reroute-kept"));
    } else if (path.startsWith("/hostile")) {
      m.addSetHeaders(set("host", "evil.example")).addSetHeaders(set("x-envoy-original-path", "/admin"))
          .addSetHeaders(set(":method", "DELETE")).addSetHeaders(set("x-ok", "1")).addRemoveHeaders(":path");
    } else if (path.startsWith("/reframe")) { // a body framed anew: its bytes would become a request of their own
      m.addRemoveHeaders("content-length").addSetHeaders(set("content-length", "0")).addRemoveHeaders("transfer-encoding");
    } else {
      m.addSetHeaders(set("x-added", "processor")).addRemoveHeaders("x-drop");
    }
    return ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.newBuilder()
        .setResponse(common.setHeaderMutation(m))).build();
  }

  /**
   * The processor's answer to a request_body message of the request to {@code path}: {@code /body-replace} replaces
   * the body (and adds {@code x-body-seen}), {@code /body-clear} clears it, anything else keeps it. {@code /upper...} upper-cases each body chunk (request and response).
   */
  private static ProcessingResponse bodyAnswer(String path) {
    CommonResponse.Builder c = CommonResponse.newBuilder();
    if (path.startsWith("/body-replace")) {
      c.setBodyMutation(BodyMutation.newBuilder().setBody(ByteString.copyFromUtf8("replaced by processor")))
          .setHeaderMutation(HeaderMutation.newBuilder().addSetHeaders(set("x-body-seen", "yes")));
    } else if (path.startsWith("/body-clear")) {
      c.setBodyMutation(BodyMutation.newBuilder().setClearBody(true));
    }
    return ProcessingResponse.newBuilder().setRequestBody(BodyResponse.newBuilder().setResponse(c)).build();
  }

  /**
   * The processor's answer to a response_body message of the request to {@code path}: {@code /resp-body-replace}
   * replaces the body and adds {@code x-body-replaced}, anything else keeps it.
   */
  private static ProcessingResponse responseBodyAnswer(String path) {
    CommonResponse.Builder c = CommonResponse.newBuilder();
    if (path.startsWith("/resp-body-replace")) {
      c.setBodyMutation(BodyMutation.newBuilder().setBody(ByteString.copyFromUtf8("a new response body")))
          .setHeaderMutation(HeaderMutation.newBuilder().addSetHeaders(set("x-body-replaced", "yes")));
    }
    return ProcessingResponse.newBuilder().setResponseBody(BodyResponse.newBuilder().setResponse(c)).build();
  }

  /**
   * The processor's answer to a response_headers message of the request to {@code path}, the {@code messages}th on its
   * stream (sent back in {@code x-stream-messages}: state a processor keeps per stream).
   */
  private static ProcessingResponse responseAnswer(String path, int messages) {
    if (path.startsWith("/resp-deny")) {
      return ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
          .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Conflict))
          .setHeaders(HeaderMutation.newBuilder().addSetHeaders(set("x-replaced", "yes")))
          .setBody(ByteString.copyFromUtf8("replaced by processor"))).build();
    }
    HeaderMutation.Builder m = HeaderMutation.newBuilder().addSetHeaders(set("x-processed", "processor"))
        .addSetHeaders(set(":status", "201")).addRemoveHeaders("x-upstream")
        .addSetHeaders(set("x-stream-messages", Integer.toString(messages)));
    ProcessingResponse.Builder r = ProcessingResponse.newBuilder().setResponseHeaders(HeadersResponse.newBuilder()
        .setResponse(CommonResponse.newBuilder().setHeaderMutation(m)));
    if (path.startsWith("/upper-resp-override")) { // the response body streamed, upper-cased chunk by chunk
      r.setModeOverride(ProcessingMode.newBuilder().setResponseBodyMode(ProcessingMode.BodySendMode.STREAMED));
    }
    if (path.startsWith("/resp-bodies-off")) { // Envoy's default mode: no body phases (nor trailers) from here on
      r.setModeOverride(ProcessingMode.getDefaultInstance());
    }
    return r.build();
  }

  private static HeaderValueOption set(String name, String value) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name)
            .setRawValue(ByteString.copyFromUtf8(value)))
        .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD).build();
  }

  /** A header of the request_headers (or response_headers) message (raw_value, as Envoy sends it), or "". */
  static String header(ProcessingRequest request, String name) {
    var headers = request.hasResponseHeaders() ? request.getResponseHeaders() : request.getRequestHeaders();
    for (HeaderValue h : headers.getHeaders().getHeadersList()) {
      if (h.getKey().equals(name)) {
        return h.getRawValue().toString(StandardCharsets.UTF_8);
      }
    }
    return "";
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    timer.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
