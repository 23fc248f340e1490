package io.keelson.dataplane.filter.grpcweb;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * Bridges one gRPC-Web exchange onto an upstream HTTP/2 gRPC stream, as Envoy's grpc_web filter does. It sits in
 * the stream channel's pipeline right after the HTTP-object codec, so both downstream paths (HTTP/1.1 through
 * {@code Http1StreamAdapter}, HTTP/2 through the stream relay) go through it.
 * <ul>
 *   <li>Request: content-type becomes {@code application/grpc}, content-length is dropped, {@code te: trailers}
 *       and (when absent) {@code grpc-accept-encoding: identity,deflate,gzip} are added; a {@code -text} body is
 *       base64-decoded chunk by chunk ({@link Base64Chunks}). Bad base64 gets Envoy's 400 and the stream reset.</li>
 *   <li>Response: content-length is dropped, content-type becomes {@code application/grpc-web+proto} (or
 *       {@code -text+proto} when the client accepts it, the body then base64-encoded chunk by chunk); the
 *       upstream's trailers become the body's last frame (flag 0x80, {@code name:value\r\n} lines). A trailers-only
 *       response keeps its grpc-status in the headers; a headers-only answer without one passes with its HTTP status, as
 *       Envoy passes it. An answer with a body that is not gRPC (not 200 with a gRPC content-type)
 *       is held until its end and sent with grpc-status from its HTTP status and grpc-message from its first
 *       16 KiB of body, content-length 0 (Envoy's non-proto-encoded response transformation).</li>
 * </ul>
 * Bodies stream: each chunk is passed on as it comes; only the text modes allocate, one buffer per chunk.
 * One instance per stream; event-loop confined.
 */
public final class GrpcWebUpstreamCodec extends ChannelDuplexHandler {
  static final String GRPC_WEB_PROTO = "application/grpc-web+proto";
  static final String GRPC_WEB_TEXT_PROTO = "application/grpc-web-text+proto";
  static final String BAD_BASE64 = "Bad gRPC-web request, invalid base64 data.";
  /** The most of a non-gRPC answer's body that becomes grpc-message (Envoy's MAX_BUFFERED_PLAINTEXT_LENGTH). */
  static final int MAX_MESSAGE_BYTES = 16384;

  private final int mode;
  private final Base64Chunks decoder;
  /** A final response is on its way down (headers passed, or held). */
  private boolean responseStarted;
  /** A non-gRPC answer's headers, held until its body ends; null otherwise. */
  private HttpResponse held;
  private ByteBuf heldBody;
  /** The request body was bad: the proxy answered, the stream is being reset. */
  private boolean failed;

  GrpcWebUpstreamCodec(int mode) {
    this.mode = mode;
    this.decoder = (mode & GrpcWebFilter.TEXT_REQUEST) != 0 ? new Base64Chunks() : null;
  }

  /**
   * Puts a codec for a request with the grpc_web filter's {@code mode} on an upstream HTTP/2 stream channel, right
   * after its HTTP-object codec, before anything is written. False (nothing done) when {@code stream} is not one
   * (an HTTP/1.1 cluster: gRPC-Web is only bridged to HTTP/2 gRPC upstreams). On the stream's event loop.
   */
  public static boolean install(Channel stream, int mode) {
    return mode != 0 && io.keelson.dataplane.filter.UpstreamStreamCodecs.addAfterObjectCodec(stream, "grpc-web",
        () -> new GrpcWebUpstreamCodec(mode));
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
      HttpHeaders h = r.headers();
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
      h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
      h.set(HttpHeaderNames.TE, "trailers");
      if (!h.contains("grpc-accept-encoding")) {
        h.set("grpc-accept-encoding", "identity,deflate,gzip");
      }
    }
    if (decoder == null || !(msg instanceof HttpContent content)) {
      ctx.write(msg, promise);
      return;
    }
    ByteBuf decoded;
    boolean last = msg instanceof LastHttpContent;
    try {
      decoded = decoder.decode(content.content(), ctx.alloc());
      if (last && !decoder.atQuadBoundary()) {
        decoded.release();
        throw new IllegalArgumentException("base64 body not a multiple of 4 characters");
      }
    } catch (IllegalArgumentException e) {
      ReferenceCountUtil.release(msg);
      promise.trySuccess();
      failRequest(ctx);
      return;
    }
    Object out;
    if (msg instanceof FullHttpMessage full) {
      out = full.replace(decoded);
      full.release();
    } else if (last) {
      LastHttpContent l = new DefaultLastHttpContent(decoded);
      l.trailingHeaders().set(((LastHttpContent) msg).trailingHeaders());
      content.release();
      out = l;
    } else {
      content.release();
      if (!decoded.isReadable()) {
        decoded.release();
        promise.trySuccess(); // the chunk held only part of a quad: carried to the next
        return;
      }
      out = new DefaultHttpContent(decoded);
    }
    ctx.write(out, promise);
  }

  /** Envoy's 400 for a -text body that is not base64, then the upstream stream is reset. */
  private void failRequest(ChannelHandlerContext ctx) {
    failed = true;
    if (!responseStarted) {
      responseStarted = true;
      ByteBuf body = Unpooled.copiedBuffer(BAD_BASE64, StandardCharsets.US_ASCII);
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_REQUEST, body);
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain").setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
      ctx.fireChannelRead(r);
      ctx.fireChannelReadComplete();
    }
    ctx.channel().close();
  }

  // ---- response (inbound)

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (failed) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpResponse r && r.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
      responseStarted = true;
      boolean endStream = msg instanceof FullHttpResponse;
      HttpHeaders h = r.headers();
      boolean grpc = !endStream && isGrpc(r, false); // before the content-type below replaces the upstream's
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
      h.set(HttpHeaderNames.CONTENT_TYPE, textResponse() ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO);
      if (endStream) {
        // Headers-only (or complete) answers pass with the new content-type even without grpc-status: Envoy's
        // encodeHeaders only holds a non-gRPC answer for a body to come (end_stream || !transform -> Continue);
        // gRPC-Web clients map such an HTTP status to a gRPC code themselves.
        FullHttpResponse full = (FullHttpResponse) msg;
        if (full.content().isReadable() || !full.trailingHeaders().isEmpty()) {
          ctx.fireChannelRead(full.replace(responseBody(ctx, full, full.content())));
          full.release();
        } else {
          ctx.fireChannelRead(msg);
        }
        return;
      }
      if (!grpc) {
        held = r;
        heldBody = ctx.alloc().buffer(256, MAX_MESSAGE_BYTES);
        return;
      }
      ctx.fireChannelRead(msg);
      return;
    }
    if (!(msg instanceof HttpContent content) || !responseStarted) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (held != null) {
      ByteBuf data = content.content();
      heldBody.writeBytes(data, Math.min(data.readableBytes(), heldBody.maxWritableBytes()));
      boolean last = msg instanceof LastHttpContent;
      content.release();
      if (last) {
        releaseHeld(ctx);
      }
      return;
    }
    if (msg instanceof LastHttpContent last) {
      ctx.fireChannelRead(new DefaultLastHttpContent(responseBody(ctx, last, last.content())));
      last.release();
      return;
    }
    if (!textResponse()) {
      ctx.fireChannelRead(msg);
      return;
    }
    ByteBuf encoded = Base64Chunks.encode(content.content(), ctx.alloc());
    content.release();
    ctx.fireChannelRead(new DefaultHttpContent(encoded));
  }

  /** The last body chunk: its data, then the trailers as a trailer frame (base64 for -text); a new buffer. */
  private ByteBuf responseBody(ChannelHandlerContext ctx, LastHttpContent last, ByteBuf data) {
    boolean text = textResponse();
    ByteBuf body = text ? Base64Chunks.encode(data, ctx.alloc()) : data.retainedSlice();
    if (last.trailingHeaders().isEmpty()) {
      return body;
    }
    ByteBuf frame = GrpcWebFrames.trailerFrame(last.trailingHeaders(), ctx.alloc());
    if (text) {
      ByteBuf plain = frame;
      frame = Base64Chunks.encode(plain, ctx.alloc());
      plain.release();
    }
    CompositeByteBuf out = ctx.alloc().compositeBuffer(2);
    out.addComponents(true, body, frame);
    return out;
  }

  /** Sends a held non-gRPC answer as a gRPC-Web error: grpc-status from its HTTP status, grpc-message from its body. */
  private void releaseHeld(ChannelHandlerContext ctx) {
    HttpResponse r = held;
    held = null;
    r.headers().set("grpc-status", io.keelson.dataplane.http2.GrpcReplies.fromHttpStatus(r.status().code()));
    r.headers().set("grpc-message", GrpcWebFrames.percentEncode(heldBody));
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    heldBody.release();
    heldBody = null;
    ctx.fireChannelRead(r);
    ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
  }

  private boolean textResponse() {
    return (mode & GrpcWebFilter.TEXT_RESPONSE) != 0;
  }

  /**
   * Envoy's test for an answer it passes through: a trailers-only one with grpc-status; else 200 with a gRPC
   * content-type, or with a proto-encoded gRPC-Web one.
   */
  public static boolean isGrpc(HttpResponse r, boolean endStream) {
    if (endStream) {
      return r.headers().contains("grpc-status");
    }
    if (r.status().code() != 200) {
      return false;
    }
    String ct = r.headers().get(HttpHeaderNames.CONTENT_TYPE);
    if (ct == null) {
      return false;
    }
    if (ct.regionMatches(true, 0, "application/grpc", 0, 16)) {
      if (ct.length() == 16 || ct.charAt(16) == '+' || ct.charAt(16) == ';') {
        return true;
      }
    }
    int semi = ct.indexOf(';');
    String media = (semi < 0 ? ct : ct.substring(0, semi)).strip();
    return media.equalsIgnoreCase(GRPC_WEB_PROTO) || media.equalsIgnoreCase("application/grpc-web");
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (heldBody != null) {
      heldBody.release();
      heldBody = null;
    }
  }
}
