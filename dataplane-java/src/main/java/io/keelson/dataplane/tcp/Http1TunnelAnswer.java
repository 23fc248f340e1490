package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.TcpTunnelingConfig;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Listener;
import io.keelson.dataplane.http1.codec.Http1ParseException;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.keelson.dataplane.http1.codec.Http1ResponseParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import java.util.Map;

/**
 * A tcp_proxy tunnel (tunneling_config) over an HTTP/1.1 cluster, as Envoy's: {@code CONNECT host:port HTTP/1.1} with
 * {@code Host} and the headers_to_add goes first on the connection; a 2xx answer completes {@code established} and
 * every byte after its head (those in the same read included) is the tunnel's, passed on untouched; any other status,
 * a malformed answer or the connection ending first fails it. Sits on the upstream connection for its life (after
 * the answer its parser is a raw pipe). Confined to the connection's event loop.
 */
final class Http1TunnelAnswer extends ChannelInboundHandlerAdapter implements Http1Listener<Http1Response> {
  private final Promise<Void> established;
  private final Http1ResponseParser parser = new Http1ResponseParser(this);
  private ChannelHandlerContext ctx;
  private boolean answered;

  Http1TunnelAnswer(Promise<Void> established) {
    this.established = established;
    parser.expectResponseTo("CONNECT");
  }

  /**
   * Writes the CONNECT for {@code config} and this downstream connection on {@code upstream} (not flushed).
   *
   * @throws IllegalArgumentException when a value a command operator rendered (the SNI, an address) cannot be a header
   *                                  value (CR, LF, NUL): nothing is written
   */
  static void writeRequest(Channel upstream, TcpTunnelingConfig config, TcpTunnelingConfig.Downstream downstream) {
    Http2Headers h = TunnelFrames.headers(config, downstream, false);
    CharSequence authority = h.authority();
    StringBuilder b = new StringBuilder(128).append("CONNECT ").append(authority).append(" HTTP/1.1\r\nhost: ")
        .append(authority).append("\r\n");
    for (Map.Entry<CharSequence, CharSequence> e : h) {
      if (e.getKey().length() > 0 && e.getKey().charAt(0) != ':') {
        b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n"); // names checked at config time, values above
      }
    }
    b.append("\r\n");
    upstream.write(ByteBufUtil.writeAscii(upstream.alloc(), b), upstream.voidPromise());
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b) {
      parser.feed(b);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void onHead(Http1Response head) {
    answered = true;
    int status = head.status();
    if (status >= 200 && status < 300) {
      parser.switchToRaw(); // the rest of this read and every later one is the tunnel's
      established.trySuccess(null);
    } else {
      fail("the tunnel's upstream answered " + status);
    }
  }

  @Override
  public void onBody(ByteBuf content) {
    if (established.isSuccess()) {
      ctx.fireChannelRead(content);
    } else {
      content.release();
    }
  }

  @Override
  public void onComplete(Http1Headers trailers) {
    // only a refused answer completes (a 2xx switched to raw): the connection is being closed
  }

  @Override
  public void onError(Http1ParseException e) {
    fail("the tunnel's upstream answered with a malformed response: " + e.getMessage());
  }

  private void fail(String why) {
    established.tryFailure(new java.io.IOException(why));
    ctx.close();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent && !answered) {
      fail("the tunnel's connection ended before its answer");
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!answered) {
      established.tryFailure(new java.io.IOException("the tunnel's connection closed before its answer"));
    }
    parser.close();
    ctx.fireChannelInactive();
  }
}
