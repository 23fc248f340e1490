package io.keelson.dataplane.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * In an upstream HTTP/2 stream's pipeline, between the HTTP-object codec and a handler that speaks
 * HTTP/1.1 bytes: parses written request bytes into HTTP objects (so Host becomes :authority, chunked
 * framing becomes DATA frames, chunked trailers become a trailing HEADERS frame), and encodes the
 * response objects as HTTP/1.1 bytes ("connection: close", so the stream is never pooled as a
 * keep-alive connection; chunked when the length is unknown, which carries gRPC trailers). A tunnel's request (an
 * upgrade to a cluster with allow_connect: RFC 8441 extended CONNECT; a proxied CONNECT: {@link ProxiedConnect}) goes
 * as HEADERS without END_STREAM; once accepted the stream's DATA is the tunnel's bytes both ways and END_STREAM its
 * half-close each way (the upstream's arrives as a ChannelInputShutdownEvent). Event-loop confined.
 */
final class Http1StreamAdapter extends ChannelDuplexHandler {
  private final EmbeddedChannel requestParser = new EmbeddedChannel(new HttpRequestDecoder(8192, 64 * 1024, 16 * 1024));
  private final EmbeddedChannel responseWriter = new EmbeddedChannel(new HttpResponseEncoder());
  /** The cluster has allow_connect: an upgrade request goes out as RFC 8441 extended CONNECT. */
  private final boolean extendedConnect;
  private final boolean tls;
  /** The upgrade sent as extended CONNECT, its answer awaited: the {@link Http2Upgrade} of it, else null. */
  private Http2Upgrade upgrade;
  /** A proxied CONNECT was sent ({@link ProxiedConnect}), its answer awaited or its tunnel open. */
  private boolean connect;
  /** The upstream accepted the upgrade (or the CONNECT): bytes both ways are the tunnel's, in DATA frames. */
  private boolean tunnel;
  /** The tunnel's END_STREAM toward the upstream was written (the HTTP/1.1 client's FIN passed on). */
  private boolean outputEnded;

  Http1StreamAdapter(boolean extendedConnect, boolean tls) {
    this.extendedConnect = extendedConnect;
    this.tls = tls;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof ByteBuf)) {
      ctx.write(msg, promise);
      return;
    }
    if (tunnel) {
      ctx.write(new DefaultHttp2DataFrame((ByteBuf) msg, false), promise);
      return;
    }
    requestParser.writeInbound(msg);
    Object o;
    while ((o = requestParser.readInbound()) != null) {
      if (upgrade != null || connect) {
        ReferenceCountUtil.release(o); // the upgrade GET's or CONNECT's (empty) end: the stream stays open for the tunnel
        continue;
      }
      if (o instanceof HttpRequest r && io.netty.handler.codec.http.HttpMethod.CONNECT.equals(r.method())) {
        connect = true; // a CONNECT the route proxies: RFC 9113 §8.5 HEADERS, its 2xx opens the tunnel
        ctx.write(ProxiedConnect.toHttp2(r), ctx.voidPromise());
        continue;
      }
      if (o instanceof HttpRequest r && extendedConnect && r.headers().contains(HttpHeaderNames.UPGRADE)) {
        upgrade = Http2Upgrade.of(r);
        ctx.write(ExtendedConnect.toHttp2(r, upgrade.type(), tls), ctx.voidPromise());
        continue;
      }
      if (o instanceof HttpRequest r) {
        r.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        r.headers().remove(HttpHeaderNames.CONNECTION);
        r.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), "http");
        String ct = r.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (ct != null && ct.regionMatches(true, 0, "application/grpc", 0, 16)) {
          r.headers().set(HttpHeaderNames.TE, "trailers"); // the HTTP/1.1 hop dropped it as hop-by-hop; gRPC servers want it
        }
      }
      ctx.write(o, ctx.voidPromise());
    }
    if (!promise.isVoid()) {
      promise.trySuccess();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (tunnel && msg instanceof HttpContent c) {
      boolean end = msg instanceof LastHttpContent;
      if (c.content().isReadable()) {
        ctx.fireChannelRead(c.content());
      } else {
        c.release();
      }
      if (end) { // the upstream's END_STREAM: its half-close, a FIN toward the client once what came before is written
        ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      }
      return;
    }
    if (!(msg instanceof HttpObject)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (upgrade != null && msg instanceof HttpResponse r && r.status().code() == 200) {
      tunnel = true; // extended CONNECT accepted: the HTTP/1.1 side gets its 101
      ctx.fireChannelRead(upgrade.switchingProtocols(ctx.alloc(), r.headers())); // with what the upstream negotiated
      ReferenceCountUtil.release(msg);
      endedWithAnswer(ctx, msg);
      return;
    }
    if (connect && msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.SUCCESS) {
      tunnel = true; // the HTTP/1.1 side gets the 2xx head, without framing: the bytes behind it are the tunnel's
      HttpResponse head = new io.netty.handler.codec.http.DefaultHttpResponse(r.protocolVersion(), r.status());
      UpgradeAnswer.copy(r.headers(), head.headers());
      responseWriter.writeOutbound(head);
      ReferenceCountUtil.release(msg);
      Object o;
      while ((o = responseWriter.readOutbound()) != null) {
        ctx.fireChannelRead(o);
      }
      endedWithAnswer(ctx, msg);
      return;
    }
    if (msg instanceof HttpResponse r) {
      r.headers().remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
      boolean informational = r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
      if (!informational) {
        r.headers().set(HttpHeaderNames.CONNECTION, "close");
        if (r instanceof FullHttpResponse full) {
          if (!HttpUtil.isContentLengthSet(r) && full.trailingHeaders().isEmpty()) {
            HttpUtil.setContentLength(r, full.content().readableBytes());
          } else if (!full.trailingHeaders().isEmpty()) {
            r.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            HttpUtil.setTransferEncodingChunked(r, true);
          }
        } else if (!HttpUtil.isContentLengthSet(r)) {
          HttpUtil.setTransferEncodingChunked(r, true);
        }
      }
    }
    responseWriter.writeOutbound(msg);
    Object o;
    while ((o = responseWriter.readOutbound()) != null) {
      ctx.fireChannelRead(o);
    }
  }

  /** An accepting answer with END_STREAM (a full response): the upstream's half-close, a FIN toward the client. */
  private static void endedWithAnswer(ChannelHandlerContext ctx, Object answer) {
    if (answer instanceof LastHttpContent) {
      ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame reset) {
      // The upstream reset the stream: the HTTP/1.1 side sees its connection close, and reads the code
      // (Http1OverHttp2.resetCode) to answer as Envoy does (503 UR, "remote refused stream reset" or "remote reset").
      ctx.channel().attr(Http1OverHttp2.RESET_CODE).set(reset.errorCode());
      ReferenceCountUtil.release(evt);
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Whether {@code stream} carries a tunnel (an upgrade's 101, a proxied CONNECT's 2xx given), whose halves end apart. */
  static boolean isTunnel(Channel stream) {
    Http1StreamAdapter a = stream.pipeline().get(Http1StreamAdapter.class);
    return a != null && a.tunnel;
  }

  /** Ends the tunnel's upstream half: END_STREAM behind what was written so far. Once; on the stream's loop. */
  static void endTunnelOutput(Channel stream) {
    Http1StreamAdapter a = stream.pipeline().get(Http1StreamAdapter.class);
    if (a != null && a.tunnel && !a.outputEnded && stream.isActive()) {
      a.outputEnded = true;
      stream.writeAndFlush(new DefaultHttp2DataFrame(io.netty.buffer.Unpooled.EMPTY_BUFFER, true), stream.voidPromise());
    }
  }

  /** Whether the tunnel's END_STREAM toward the upstream was written. */
  static boolean tunnelOutputEnded(Channel stream) {
    Http1StreamAdapter a = stream.pipeline().get(Http1StreamAdapter.class);
    return a != null && a.outputEnded;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    requestParser.finishAndReleaseAll();
    responseWriter.finishAndReleaseAll();
  }
}
