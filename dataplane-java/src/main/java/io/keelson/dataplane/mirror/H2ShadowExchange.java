package io.keelson.dataplane.mirror;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One mirrored request to a shadow cluster that speaks HTTP/2 (cluster {@code http2_protocol_options}),
 * on its own h2c connection (prior knowledge): sends the copy on one stream once connected, discards
 * the response, and closes the connection when the stream ends; counts a failure when no response
 * head arrived (reset, GOAWAY, timeout). The handler after the connection's {@link Http2FrameCodec}.
 * Confined to the connection's event loop.
 */
final class H2ShadowExchange extends Http2ChannelDuplexHandler {
  /** Connection-specific fields, not allowed in HTTP/2 (RFC 9113 §8.2.2); TE is kept only as "trailers". */
  private static final Set<String> NOT_IN_HTTP2 =
      Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te");

  private final Http2Headers headers;
  private ByteBuf body;
  private final MirrorCounters counters;
  private final long timeoutNanos;
  private boolean responded;
  private boolean ended;
  private ScheduledFuture<?> timeout;
  private Http2FrameStream stream;

  /**
   * @param body the copied body, or null for none; released by this handler
   */
  H2ShadowExchange(Http2Headers headers, ByteBuf body, MirrorCounters counters, long timeoutNanos) {
    this.headers = headers;
    this.body = body;
    this.counters = counters;
    this.timeoutNanos = timeoutNanos;
  }

  /** The request head as HTTP/2 header fields: pseudo-headers, then the fields HTTP/2 may carry (lower-case). */
  static Http2Headers headersOf(ShadowHead head, Http1Headers edited) {
    DefaultHttp2Headers h = new DefaultHttp2Headers();
    h.method(head.method());
    h.scheme("http");
    String authority = edited.get("host");
    if (authority != null) {
      h.authority(authority);
    }
    h.path(head.target());
    for (int i = 0; i < edited.size(); i++) {
      String name = edited.name(i).toLowerCase(Locale.ROOT);
      String value = edited.value(i);
      if (name.equals("te")) {
        if (value.toLowerCase(Locale.ROOT).contains("trailers")) {
          h.set("te", "trailers");
        }
      } else if (!NOT_IN_HTTP2.contains(name)) {
        h.add(name, value);
      }
    }
    return h;
  }

  /** The connection could not be opened: the copy is dropped. */
  void connectFailed() {
    releaseBody();
    end(false);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    counters.total().increment();
    if (timeoutNanos > 0) {
      timeout = ctx.executor().schedule(() -> ctx.close(), timeoutNanos, TimeUnit.NANOSECONDS);
    }
    stream = newStream();
    boolean hasBody = body != null && body.isReadable();
    ctx.write(new DefaultHttp2HeadersFrame(headers, !hasBody).stream(stream)).addListener(f -> {
      if (!f.isSuccess()) {
        ctx.close();
      }
    });
    if (hasBody) {
      ByteBuf b = body;
      body = null;
      ctx.write(new DefaultHttp2DataFrame(b, true).stream(stream));
    } else {
      releaseBody();
    }
    ctx.flush();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof Http2HeadersFrame h) {
        CharSequence status = h.headers().status();
        responded |= status == null || status.length() == 0 || status.charAt(0) != '1';
      }
      if (msg instanceof Http2ResetFrame
          || msg instanceof Http2GoAwayFrame g && stream.id() > 0 && g.lastStreamId() < stream.id()) {
        ctx.close(); // the copy was refused
      } else if (msg instanceof Http2StreamFrame f && endsStream(f)) {
        ctx.close(); // the answer is complete; it is never used
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private static boolean endsStream(Http2StreamFrame f) {
    return f instanceof Http2HeadersFrame h && h.isEndStream()
        || f instanceof io.netty.handler.codec.http2.Http2DataFrame d && d.isEndStream();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (timeout != null) {
      timeout.cancel(false);
    }
    releaseBody();
    end(responded);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  private void end(boolean ok) {
    if (ended) {
      return;
    }
    ended = true;
    if (!ok) {
      counters.failed().increment();
    }
  }
}
