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
 * The HTTP/1.1 half of a WebSocket that came as an HTTP/2 extended CONNECT (RFC 8441): on the tunnel's own TCP
 * connection to the upstream, behind Netty's HTTP/1.1 client codec, writes the upgrade GET once connected and reads the
 * response head. On 101 the codec and this handler leave the pipeline, so the bytes behind the head (and all later
 * ones) reach the {@link ConnectStream} behind them untouched; any other answer (or the connection closing first) is
 * told to the listener and the connection is closed. Event-loop confined (the stream's loop).
 */
final class UpgradeHandshake extends ChannelInboundHandlerAdapter {
  /** How the handshake ended; told once. */
  interface Listener {
    /** The upstream switched protocols: the tunnel can open (the 101's bytes behind it follow this call). */
    void onSwitched(HttpResponse response);

    /** The upstream answered another status (0: it closed, or sent no valid HTTP/1.1 head). */
    void onRefused(int status);
  }

  private final HttpRequest request;
  private final Listener listener;
  private HttpResponse response;
  /** The upstream answered 101: this handler is leaving, everything goes on to the relay. */
  private boolean switched;
  /** The handshake failed and was told: nothing more reaches the relay, which never started. */
  private boolean refused;

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
    if (msg instanceof HttpResponse r && !refused) {
      response = r;
      if (!HttpResponseStatus.SWITCHING_PROTOCOLS.equals(r.status())) {
        refuse(ctx, r);
      }
    }
    if (msg instanceof LastHttpContent && response != null && !refused) {
      switched = true;
      listener.onSwitched(response);
      ctx.pipeline().remove(HttpClientCodec.class); // hands on what it holds behind the head as raw bytes
      ctx.pipeline().remove(this);
    }
    ReferenceCountUtil.release(msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (switched) {
      ctx.fireChannelInactive();
    } else if (!refused) {
      refuse(ctx, null); // the relay behind never started: it must not see the close
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
    listener.onRefused(answer == null ? 0 : answer.status().code());
    ctx.close();
  }
}
