package io.keelson.dataplane.http2;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpClientCodec;
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
 * (and all later ones) reach the {@link ConnectStream} behind them untouched; any other answer (with its body, at most
 * {@link #MAX_REFUSAL_BODY} bytes of it) or the connection closing first is told to the listener and the connection is
 * closed. Event-loop confined (the stream's loop).
 */
final class UpgradeHandshake extends ChannelInboundHandlerAdapter {
  /** How the handshake ended; told once. */
  interface Listener {
    /** The upstream switched protocols: the tunnel can open (the 101's bytes behind it follow this call). */
    void onSwitched(HttpResponse response);

    /**
     * The upstream answered another status (0: it closed, or sent no valid HTTP/1.1 head; {@code answer} is then
     * null), with the answer's body (empty past {@link #MAX_REFUSAL_BODY}).
     */
    void onRefused(int status, HttpResponse answer, byte[] body);
  }

  /** The most of a refusal's body passed on; a longer one is dropped (its status and headers still are). */
  static final int MAX_REFUSAL_BODY = 64 * 1024;

  private final HttpRequest request;
  private final Listener listener;
  private HttpResponse response;
  /** The upstream answered 101: this handler is leaving, everything goes on to the relay. */
  private boolean switched;
  /** The handshake failed and was told: nothing more reaches the relay, which never started. */
  private boolean refused;
  /** A refusal's body while it arrives, else null. */
  private io.netty.buffer.CompositeByteBuf refusalBody;

  private UpgradeHandshake(HttpRequest request, Listener listener) {
    this.request = request;
    this.listener = listener;
  }

  /** The upstream connection's handlers: the HTTP/1.1 client codec and the handshake, then {@code relay}. */
  static ChannelHandler pipeline(HttpRequest request, Listener listener, ChannelHandler relay) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(new HttpClientCodec(4096, 64 * 1024, 16 * 1024), new UpgradeHandshake(request, listener),
            relay);
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
    if (msg instanceof HttpResponse r && response == null) {
      response = r;
      if (!accepts(r)) {
        refusalBody = ctx.alloc().compositeBuffer();
      }
    }
    if (refusalBody != null && !refused && msg instanceof io.netty.handler.codec.http.HttpContent c) {
      if (refusalBody.readableBytes() + c.content().readableBytes() <= MAX_REFUSAL_BODY) {
        refusalBody.addComponent(true, c.content().retain());
      } else {
        refusalBody.clear(); // too long to pass on: the status and headers only, at once
        refuse(ctx, response);
      }
    }
    if (msg instanceof LastHttpContent && response != null && !refused) {
      if (refusalBody != null) {
        refuse(ctx, response);
      } else {
        switched = true;
        listener.onSwitched(response);
        ctx.pipeline().remove(HttpClientCodec.class); // hands on what it holds behind the head as raw bytes
        ctx.pipeline().remove(this);
      }
    }
    ReferenceCountUtil.release(msg);
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
      refuse(ctx, refusalBody != null ? response : null); // the relay behind never started: it must not see the close
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (switched) {
      ctx.fireExceptionCaught(cause);
    } else if (!refused) {
      refuse(ctx, null); // e.g. not an HTTP/1.1 response
    }
  }

  private void refuse(ChannelHandlerContext ctx, HttpResponse answer) {
    refused = true;
    byte[] body = new byte[0];
    if (refusalBody != null) {
      body = io.netty.buffer.ByteBufUtil.getBytes(refusalBody);
      refusalBody.release();
      refusalBody = null;
    }
    listener.onRefused(answer == null ? 0 : answer.status().code(), answer, body);
    ctx.close();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (refusalBody != null) {
      refusalBody.release();
      refusalBody = null;
    }
  }
}
