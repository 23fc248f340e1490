package io.keelson.dataplane.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * The HTTP/1.1 half of a tunnel an HTTP/2 stream asked for: a WebSocket that came as an extended CONNECT (RFC 8441), or
 * a CONNECT a route proxies (no connect_config). On the tunnel's own TCP connection to the upstream, behind Netty's
 * HTTP/1.1 client codec, writes the upgrade GET (or the {@code CONNECT host:port} request) once connected and reads the
 * response head. On 101 (a CONNECT's 2xx) the codec and this handler leave the pipeline, so the bytes behind the head
 * (and all later ones) reach the {@link ConnectStream} behind them untouched. A 101 whose {@code Sec-WebSocket-Accept}
 * does not answer the key Keelson made up for the GET is not a WebSocket (RFC 6455 §4.1: the client fails it); any
 * other answer is read whole (its body up to {@link #MAX_REFUSAL_BODY_BYTES}) and told to the listener; then the
 * connection is closed. Event-loop confined (the stream's loop).
 */
final class UpgradeHandshake extends ChannelInboundHandlerAdapter {
  /** A refusal's body passed on to the client at most; a longer one is dropped (its status and headers still go). */
  static final int MAX_REFUSAL_BODY_BYTES = 64 * 1024;

  /** How the handshake ended; told once. */
  interface Listener {
    /** The upstream switched protocols: the tunnel can open (the 101's bytes behind it follow this call). */
    void onSwitched(HttpResponse response);

    /**
     * The upstream answered another status: its head, and its body (owned by the listener; empty when longer than
     * {@link #MAX_REFUSAL_BODY_BYTES}); or {@code answer} null when it closed or sent no valid HTTP/1.1 head.
     */
    void onRefused(HttpResponse answer, ByteBuf body);

    /** The upstream answered 101 with the wrong (or no) {@code Sec-WebSocket-Accept}. */
    void onBadAccept(String accept);
  }

  private final HttpRequest request;
  /** The Sec-WebSocket-Accept the 101 must carry (for a key Keelson made up), or null when not checked here. */
  private final String expectedAccept;
  private final Listener listener;
  private HttpResponse response;
  /** A refused answer's body so far, null once over the bound. */
  private CompositeByteBuf refusalBody;
  /** The upstream answered 101: this handler is leaving, everything goes on to the relay. */
  private boolean switched;
  /** The handshake failed and was told: nothing more reaches the relay, which never started. */
  private boolean refused;

  private UpgradeHandshake(HttpRequest request, String expectedAccept, Listener listener) {
    this.request = request;
    this.expectedAccept = expectedAccept;
    this.listener = listener;
  }

  /**
   * The upstream connection's handlers: the HTTP/1.1 client codec and the handshake, then {@code relay}.
   *
   * @param expectedAccept the 101's Sec-WebSocket-Accept for a key the proxy generated, or null
   */
  static ChannelHandler pipeline(HttpRequest request, String expectedAccept, Listener listener, ChannelHandler relay) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(new HttpClientCodec(4096, 64 * 1024, 16 * 1024),
            new UpgradeHandshake(request, expectedAccept, listener), relay);
      }
    };
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.write(request, ctx.voidPromise());
    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, ctx.voidPromise()); // the GET has no body
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (switched) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      if (refused) {
        return;
      }
      if (msg instanceof HttpResponse r) {
        response = r;
        if (!accepts(r)) {
          refusalBody = ctx.alloc().compositeBuffer();
        } else if (expectedAccept != null && !expectedAccept.equals(acceptOf(r))) {
          refused = true;
          listener.onBadAccept(acceptOf(r));
          ctx.close();
          return;
        }
      }
      if (msg instanceof HttpContent c && refusalBody != null) {
        if (refusalBody.readableBytes() + c.content().readableBytes() > MAX_REFUSAL_BODY_BYTES) {
          refusalBody.release();
          refusalBody = null;
          refuse(ctx, response, Unpooled.EMPTY_BUFFER);
          return;
        }
        refusalBody.addComponent(true, c.content().retain());
      }
      if (msg instanceof LastHttpContent && response != null) {
        if (refusalBody != null) {
          ByteBuf body = refusalBody;
          refusalBody = null;
          refuse(ctx, response, body);
          return;
        }
        switched = true;
        listener.onSwitched(response);
        ctx.pipeline().remove(HttpClientCodec.class); // hands on what it holds behind the head as raw bytes
        ctx.pipeline().remove(this);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private static String acceptOf(HttpResponse r) {
    String accept = r.headers().get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
    return accept == null ? null : accept.trim();
  }

  /** A 101 opens an upgrade; a CONNECT's is any 2xx (RFC 9110 §9.3.6). */
  private boolean accepts(HttpResponse r) {
    return io.netty.handler.codec.http.HttpMethod.CONNECT.equals(request.method())
        ? r.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.SUCCESS
        : HttpResponseStatus.SWITCHING_PROTOCOLS.equals(r.status());
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (switched) {
      ctx.fireChannelInactive();
    } else if (!refused) {
      refuse(ctx, null, Unpooled.EMPTY_BUFFER); // the relay behind never started: it must not see the close
    }
    releaseBody();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (switched) {
      ctx.fireExceptionCaught(cause);
    } else if (!refused) {
      refuse(ctx, null, Unpooled.EMPTY_BUFFER); // e.g. not an HTTP/1.1 response
    }
  }

  private void refuse(ChannelHandlerContext ctx, HttpResponse answer, ByteBuf body) {
    refused = true;
    releaseBody();
    listener.onRefused(answer, body);
    ctx.close();
  }

  private void releaseBody() {
    if (refusalBody != null) {
      refusalBody.release();
      refusalBody = null;
    }
  }
}
