package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.TcpTunnelingConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

/**
 * The HTTP/2 stream of one tcp_proxy tunnel (tunneling_config) made to look like a TCP connection for
 * {@link TcpRelay}: sends the CONNECT (or POST) HEADERS, completes {@code established} on the {@code :status 200}
 * answer (any 2xx for a proxied CONNECT; 1xx interim answers skipped; fails it on any other status, or when the stream
 * ends first), then turns DATA frames into ByteBufs and
 * END_STREAM into a {@link ChannelInputShutdownEvent} inbound, and ByteBufs into DATA frames outbound;
 * {@link #endStream} is the stream's half-close (an empty DATA frame with END_STREAM). Made to keep a refusal's body
 * (a proxied CONNECT's, relayed to its client), it fails {@code established} only once that body has ended.
 * Confined to the stream's loop.
 */
public final class TunnelFrames extends ChannelDuplexHandler {
  private final Promise<Void> established;
  private boolean answered;
  private boolean outputEnded;
  /** The tunnel's answer when it was not 200, for the connection's failure. */
  String refusal;
  /** The answer's :status, 0 before it or when it had none. */
  private int status;
  /** The answer's HEADERS, null before it. */
  private Http2Headers answer;
  /** The most of a refusal's body kept; 0: none, the refusal fails at once. */
  private final int maxRefusalBody;
  private final boolean anySuccess;
  /** A refusal's body while it arrives (null when not kept), then its bytes. */
  private io.netty.buffer.CompositeByteBuf refusalBody;
  private byte[] refusalBytes = new byte[0];

  /** @param established completed on {@code :status 200}, failed on any other answer or when the stream ends first */
  public TunnelFrames(Promise<Void> established) {
    this(established, 0);
  }

  /** @param maxRefusalBody the most of a refusal's body kept for {@link #refusalBody} (a longer one is dropped) */
  public TunnelFrames(Promise<Void> established, int maxRefusalBody) {
    this(established, maxRefusalBody, false);
  }

  /**
   * @param anySuccess any 2xx opens the tunnel (a proxied CONNECT's answer, as Envoy's router takes it), not only 200
   *                   (tcp_proxy tunneling's and an extended CONNECT's)
   */
  public TunnelFrames(Promise<Void> established, int maxRefusalBody, boolean anySuccess) {
    this.established = established;
    this.maxRefusalBody = maxRefusalBody;
    this.anySuccess = anySuccess;
  }

  /** A refused answer's body (when kept; empty past the limit or when not kept). */
  public byte[] refusalBody() {
    return refusalBytes;
  }

  /** The request HEADERS (no END_STREAM) for {@code config} and this downstream connection. */
  static Http2HeadersFrame request(TcpTunnelingConfig config, TcpTunnelingConfig.Downstream downstream, boolean tls) {
    return new DefaultHttp2HeadersFrame(headers(config, downstream, tls), false);
  }

  /** The tunnel's request headers (pseudo-headers first, then headers_to_add in order), for HTTP/2 or HTTP/1.1. */
  static Http2Headers headers(TcpTunnelingConfig config, TcpTunnelingConfig.Downstream downstream, boolean tls) {
    Http2Headers h = new DefaultHttp2Headers();
    h.authority(config.hostname().render(downstream));
    if (config.usePost()) {
      h.method("POST").scheme(tls ? "https" : "http").path(config.postPath());
    } else {
      h.method("CONNECT"); // RFC 9113 §8.5: no :scheme, no :path
    }
    for (TcpTunnelingConfig.Header add : config.headersToAdd()) {
      String value = add.value().render(downstream);
      if (add.append()) {
        h.add(add.name(), value);
      } else {
        h.set(add.name(), value);
      }
    }
    return h;
  }

  /** The answer's {@code :status}; 0 before it or when it had none. */
  public int status() {
    return status;
  }

  /** The answer's HEADERS (e.g. an extended CONNECT's negotiated WebSocket fields); null before it. */
  public Http2Headers answer() {
    return answer;
  }

  /** The stream's half-close: END_STREAM once everything written before it; a no-op on another kind of channel. */
  public static void endStream(Channel ch) {
    TunnelFrames t = ch.pipeline().get(TunnelFrames.class);
    if (t != null && !t.outputEnded) {
      t.outputEnded = true;
      ch.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true), ch.voidPromise());
    }
  }

  /** Whether {@code ch} is a tunnel stream whose sending side has ended. */
  static boolean outputEnded(Channel ch) {
    TunnelFrames t = ch.pipeline().get(TunnelFrames.class);
    return t != null && t.outputEnded;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2HeadersFrame h) {
      boolean end = h.isEndStream();
      if (!answered) {
        CharSequence status = h.headers().status();
        int code = status == null ? 0 : parseStatus(status);
        if (code >= 100 && code < 200 && !end) {
          return; // an interim answer (100 Continue, 103 Early Hints): the final one follows
        }
        answered = true;
        answer = h.headers();
        this.status = code;
        if (code == 200 || anySuccess && code >= 200 && code < 300) {
          established.trySuccess(null);
        } else {
          refusal = "the tunnel's upstream answered " + (status == null ? "without :status" : ":status " + status);
          if (maxRefusalBody > 0 && !end && this.status > 0) {
            refusalBody = ctx.alloc().compositeBuffer(); // failed once the body has come
          } else {
            refuse(ctx);
          }
          return;
        }
      }
      if (refusalBody != null) {
        if (end) {
          refuse(ctx); // the refusal's trailers
        }
        return;
      }
      if (end) {
        ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE); // trailers: the peer's half-close
      }
      return;
    }
    if (msg instanceof Http2DataFrame d && refusalBody != null) {
      boolean fits = refusalBody.readableBytes() + d.content().readableBytes() <= maxRefusalBody;
      if (fits) {
        refusalBody.addComponent(true, d.content().retain());
      } else {
        refusalBody.clear(); // too long to pass on: the status and headers only, at once
      }
      boolean end = d.isEndStream();
      d.release();
      if (end || !fits) {
        refuse(ctx);
      }
      return;
    }
    if (msg instanceof Http2DataFrame d) {
      boolean end = d.isEndStream();
      ByteBuf content = d.content();
      if (content.isReadable()) {
        ctx.fireChannelRead(content); // the frame's buffer, handed on (the frame is its only holder)
      } else {
        d.release();
      }
      if (end) {
        ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      }
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  /** Fails {@code established} with the refusal (and its body, if kept) and closes the stream. */
  private void refuse(ChannelHandlerContext ctx) {
    if (refusalBody != null) {
      refusalBytes = io.netty.buffer.ByteBufUtil.getBytes(refusalBody);
      refusalBody.release();
      refusalBody = null;
    }
    established.tryFailure(new java.io.IOException(refusal));
    ctx.close();
  }

  private static int parseStatus(CharSequence status) {
    try {
      return Integer.parseInt(status.toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf b) {
      ctx.write(new DefaultHttp2DataFrame(b, false), promise);
    } else {
      ctx.write(msg, promise);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!answered) {
      refusal = "the tunnel's stream ended before its answer";
      established.tryFailure(new java.io.IOException(refusal));
    } else if (refusalBody != null) {
      refuse(ctx); // reset before the refusal's body ended: what came of it
    }
    ctx.fireChannelInactive();
  }
}
