package io.keelson.dataplane.filter.grpcjson;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * Transcodes one JSON exchange onto an upstream HTTP/2 gRPC stream, as Envoy's gRPC-JSON transcoder does. It sits in
 * the stream channel's pipeline right after the HTTP-object codec, so both downstream paths go through it.
 * <ul>
 *   <li>Request: held until its body has ended, then sent as {@code POST /pkg.Service/Method}, content-type
 *       {@code application/grpc}, {@code te: trailers}, {@code x-envoy-original-path}, and one message: the one
 *       {@link RequestBodyCheck} made before routing (a bad body was answered 400 there), else the bindings' (with
 *       the body's, when another filter's body check took the transcoder's place: then a bad body or one over the
 *       settings' limit is answered 400 or 413 here, and nothing is sent upstream).</li>
 *   <li>Unary response: held to its end; status from grpc-status (200 for OK), grpc-status and grpc-message copied
 *       into the headers, content-type {@code application/json}, the message as JSON with a content-length. With
 *       convert_grpc_status an error without a message gets a {@code google.rpc.Status} JSON body.</li>
 *   <li>Server-streaming response: the headers pass at once (200, {@code application/json}); each message passes
 *       as it arrives as the next element of a JSON array; the trailers pass as they come.</li>
 *   <li>An answer that is not gRPC (not 200 with a gRPC content-type, or headers-only without grpc-status) passes
 *       untouched.</li>
 * </ul>
 * One instance per stream; event-loop confined.
 */
public final class GrpcJsonUpstreamCodec extends ChannelDuplexHandler {
  static final String JSON = "application/json";

  private final TranscodedCall call;
  private HttpRequest request;
  private ByteBuf requestBody;
  private boolean failed;
  /** The answer is not gRPC: it passes untouched. */
  private boolean passThrough;
  /** A gRPC response's headers: held (unary), or already passed (streaming). */
  private HttpResponse response;
  private GrpcFrameReader reader;
  /** Unary: the response message; streaming: how many messages passed. */
  private byte[] unaryMessage;
  private int streamed;

  private GrpcJsonUpstreamCodec(TranscodedCall call) {
    this.call = call;
  }

  /** A codec for {@code call} (null: none) on {@code stream}, as {@link io.keelson.dataplane.filter.UpstreamStreamCodecs} puts it. */
  public static boolean install(Channel stream, TranscodedCall call) {
    return call != null && io.keelson.dataplane.filter.UpstreamStreamCodecs.addAfterObjectCodec(stream, "grpc-json",
        () -> new GrpcJsonUpstreamCodec(call));
  }

  /** The 503's body when {@link #refuses} a cluster. */
  public static final String NOT_HTTP2 = "the gRPC-JSON transcoder's upstream cluster is not HTTP/2: a gRPC cluster needs"
      + " http2_protocol_options (typed_extension_protocol_options' explicit_http_config)";

  /**
   * True when {@code call} (null: not transcoded) is routed to a cluster that is not HTTP/2: gRPC needs HTTP/2, and the
   * transcoding is done on an HTTP/2 stream, so the router answers 503 ({@link #NOT_HTTP2}, counted as the cluster's
   * {@code grpc_json_transcoder_upstream_not_http2}) rather than send the JSON request untranscoded.
   */
  public static boolean refuses(TranscodedCall call, io.keelson.dataplane.config.ClusterConfig cluster) {
    return call != null && !cluster.http2Upstream();
  }

  // ---- request (outbound)

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (failed) {
      ReferenceCountUtil.release(msg);
      promise.trySuccess();
      return;
    }
    if (msg instanceof HttpRequest r) {
      request = r;
      if (call.message() == null && call.binding().body() != null) { // not made before routing: read the body here
        requestBody = ctx.alloc().buffer(256);
      }
    }
    if (msg instanceof HttpContent c) {
      ByteBuf data = c.content();
      boolean over = requestBody != null && requestBody.readableBytes() + (long) data.readableBytes() > call.settings().maxBodyBytes();
      if (!over && requestBody != null) {
        requestBody.writeBytes(data);
      }
      boolean last = msg instanceof LastHttpContent;
      ReferenceCountUtil.release(msg);
      if (over) {
        promise.trySuccess();
        fail(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large");
        return;
      }
      if (last) {
        sendRequest(ctx, promise);
        return;
      }
    } else if (!(msg instanceof HttpRequest)) {
      ctx.write(msg, promise);
      return;
    }
    promise.trySuccess(); // held until the body ends
  }

  private void sendRequest(ChannelHandlerContext ctx, ChannelPromise promise) {
    byte[] message = call.message();
    if (message == null) { // no body was checked: none, a rule without one, or another filter's body check instead
      try {
        message = RequestMessages.message(call, requestBody == null ? "" : requestBody.toString(StandardCharsets.UTF_8))
            .toByteArray();
      } catch (IllegalArgumentException e) {
        promise.trySuccess();
        fail(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
        return;
      } finally {
        if (requestBody != null) {
          requestBody.release();
          requestBody = null;
        }
      }
    }
    ByteBuf frame = RequestMessages.frame(message, ctx.alloc());
    HttpHeaders h = request.headers();
    h.remove(HttpHeaderNames.CONTENT_LENGTH);
    h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
    h.set(HttpHeaderNames.TE, "trailers");
    h.set("x-envoy-original-path", call.originalPath());
    ReferenceCountUtil.release(request); // a FullHttpRequest's body was read already
    ctx.write(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, call.binding().grpcPath(), frame, h,
        io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE), promise);
  }

  /**
   * The proxy's answer to a request it cannot transcode; the upstream stream (never opened) is closed. Later on the
   * event loop: the connection is still writing the request when the body turns out bad.
   */
  private void fail(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
    failed = true;
    ctx.executor().execute(() -> {
      replyLocally(ctx, status, "text/plain", text);
      ctx.channel().close();
    });
  }

  private void replyLocally(ChannelHandlerContext ctx, HttpResponseStatus status, String contentType, String text) {
    ByteBuf body = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType).setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    ctx.fireChannelRead(r);
    ctx.fireChannelReadComplete();
  }

  // ---- response (inbound)

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (failed) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (passThrough || (msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (msg instanceof FullHttpResponse full) {
      if (!full.headers().contains("grpc-status") || full.content().isReadable()) {
        passThrough = true;
        ctx.fireChannelRead(msg);
        return;
      }
      response = full;
      finish(ctx, full.headers(), true);
      full.release();
      return;
    }
    if (msg instanceof HttpResponse r) {
      if (!io.keelson.dataplane.filter.grpcweb.GrpcWebUpstreamCodec.isGrpc(r, false)) {
        passThrough = true;
        ctx.fireChannelRead(msg);
        return;
      }
      response = r;
      reader = new GrpcFrameReader(ctx.alloc(), call.settings().maxBodyBytes());
      r.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON);
      if (call.serverStreaming()) {
        ctx.fireChannelRead(r);
      }
      return;
    }
    if (!(msg instanceof HttpContent content) || response == null) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      reader.add(content.content());
      for (byte[] m = reader.next(); m != null; m = reader.next()) {
        onMessage(ctx, m);
      }
    } catch (IllegalStateException e) {
      content.release();
      failResponse(ctx, e.getMessage());
      return;
    }
    content.release();
    if (msg instanceof LastHttpContent last) {
      finish(ctx, last.trailingHeaders(), false);
    }
  }

  private void onMessage(ChannelHandlerContext ctx, byte[] m) {
    if (!call.serverStreaming()) {
      if (unaryMessage == null) {
        unaryMessage = m;
      }
      return;
    }
    String json = ResponseJson.message(call.settings(), call.binding().method().getOutputType(), m);
    ctx.fireChannelRead(new DefaultHttpContent(Unpooled.copiedBuffer((streamed++ == 0 ? "[" : ",") + json, StandardCharsets.UTF_8)));
  }

  /** The response ended with {@code trailers} (the headers of a trailers-only response when {@code trailersOnly}). */
  private void finish(ChannelHandlerContext ctx, HttpHeaders trailers, boolean trailersOnly) {
    releaseReader();
    int grpcStatus = ResponseJson.grpcStatus(trailers);
    if (call.serverStreaming() && !trailersOnly) {
      ByteBuf end = Unpooled.copiedBuffer(streamed == 0 ? "[]" : "]", StandardCharsets.US_ASCII);
      LastHttpContent last = new DefaultLastHttpContent(end);
      last.trailingHeaders().set(trailers);
      ctx.fireChannelRead(last);
      return;
    }
    HttpHeaders h = response.headers();
    String json = null;
    if (call.settings().convertGrpcStatus() && unaryMessage == null && grpcStatus > 0) {
      json = ResponseJson.status(call.settings(), grpcStatus, trailers);
    }
    if (json != null) {
      if (trailersOnly) { // the status is in the body now
        h.remove("grpc-status").remove("grpc-message").remove("grpc-status-details-bin");
      }
      h.set(HttpHeaderNames.CONTENT_TYPE, JSON);
    } else {
      if (unaryMessage != null) {
        json = ResponseJson.message(call.settings(), call.binding().method().getOutputType(), unaryMessage);
      } else if (call.serverStreaming() && grpcStatus == 0) {
        json = "[]"; // a trailers-only OK of a stream: an empty array, as Envoy
      }
      if (call.serverStreaming()) {
        h.set(HttpHeaderNames.CONTENT_TYPE, JSON);
      }
      if (!trailersOnly && grpcStatus >= 0) {
        h.set("grpc-status", grpcStatus);
        String message = trailers.get("grpc-message");
        if (message != null) {
          h.set("grpc-message", message);
        }
      }
    }
    ByteBuf body = json == null ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
    FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(ResponseJson.httpStatus(grpcStatus)),
        body, h.copy(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
    out.headers().remove(HttpHeaderNames.TRANSFER_ENCODING); // the HTTP/2 codec marks a response with a body to come chunked
    out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    ctx.fireChannelRead(out);
  }

  /** A response the proxy cannot transcode (a compressed or oversized message, or one that does not parse). */
  private void failResponse(ChannelHandlerContext ctx, String why) {
    releaseReader();
    boolean headersSent = call.serverStreaming();
    failed = true;
    if (!headersSent) {
      replyLocally(ctx, HttpResponseStatus.BAD_GATEWAY, "text/plain", why);
    }
    ctx.channel().close();
  }

  private void releaseReader() {
    if (reader != null) {
      reader.release();
      reader = null;
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseReader();
    if (requestBody != null) {
      requestBody.release();
      requestBody = null;
    }
  }
}
