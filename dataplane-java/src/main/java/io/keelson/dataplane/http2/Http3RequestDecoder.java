package io.keelson.dataplane.http2;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/3 request stream's frames as the same Netty HTTP objects an HTTP/2 stream gives {@link StreamProxy}
 * (Netty's HTTP/2 conversion: {@code x-http2-scheme}, {@code host} from {@code :authority}, ...): a request without
 * a body (HEADERS then FIN) is one {@code FullHttpRequest}, as on HTTP/2 with END_STREAM, so it is forwarded without
 * a body framing; otherwise the head, then the DATA frames as contents, trailers (gRPC) in the last content. The
 * head is held until the stream's first read completes to learn which; for a GET, HEAD, DELETE or OPTIONS without
 * content-length a client may send the FIN in a later packet, so its head waits up to 100 ms more for FIN or DATA
 * (a request without a body is then forwarded without transfer-encoding, as Envoy with END_STREAM). A malformed head (connection-specific fields
 * included, RFC 9114 §4.2) resets the stream with H3_MESSAGE_ERROR. Responses are encoded by Netty's {@code Http3FrameToHttpObjectCodec} behind this handler.
 * Stream-confined.
 */
final class Http3RequestDecoder extends ChannelInboundHandlerAdapter {
  /** Watches the stream for STOP_SENDING once its request has ended; null when this Netty cannot tell. */
  private final Http3StopSendingWatch stopSending;
  /** The request head while it is not known whether a body follows; null once passed on. */
  private HttpRequest held;
  private boolean headSeen;
  private boolean ended;
  /** A bodyless-method head waits {@link #FIN_WAIT_MILLIS} for its FIN (or DATA) before it is passed as chunked. */
  private boolean waiting;
  private static final long FIN_WAIT_MILLIS = 100;

  /** {@code http3.rx_reset} / {@code tx_reset}. */
  private final Http3CodecStats stats;

  Http3RequestDecoder(Http3StopSendingWatch stopSending, Http3CodecStats stats) {
    this.stopSending = stopSending;
    this.stats = stats;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof Http3HeadersFrame frame) {
      onHeaders(ctx, frame);
    } else if (msg instanceof Http3DataFrame data) {
      if (!headSeen || ended) {
        data.release();
        return;
      }
      passHead(ctx);
      ctx.fireChannelRead(new DefaultHttpContent(data.content()));
    } else {
      ReferenceCountUtil.release(msg); // unknown frames: ignored, as RFC 9114 §9 requires
    }
  }

  private void onHeaders(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
    QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
    int id = (int) stream.streamId();
    Http2Headers h2 = new DefaultHttp2Headers(false, frame.headers().size());
    boolean malformed = false;
    for (Map.Entry<CharSequence, CharSequence> e : frame.headers()) {
      malformed |= connectionSpecific(e.getKey(), e.getValue());
      h2.add(e.getKey(), e.getValue());
    }
    try {
      if (malformed) {
        throw new IllegalArgumentException("connection-specific header field");
      }
      if (!headSeen) {
        headSeen = true;
        held = HttpConversionUtil.toHttpRequest(id, h2, true);
        return;
      }
      if (!ended) { // trailers
        passHead(ctx);
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        HttpConversionUtil.addHttp2ToHttpHeaders(id, h2, last.trailingHeaders(), HttpVersion.HTTP_1_1, true, true);
        ended = true;
        ctx.fireChannelRead(last);
      }
    } catch (Http2Exception | RuntimeException e) {
      held = null;
      ended = true;
      stream.shutdown(Http3ErrorCode.H3_MESSAGE_ERROR.code());
      stats.txReset.increment();
      stream.close();
    }
  }

  /**
   * RFC 9114 §4.2: a connection-specific field (or TE other than "trailers") makes the message malformed, as Envoy's
   * H3_MESSAGE_ERROR. Names arrive lower-case (QPACK), so exact comparison.
   */
  private static boolean connectionSpecific(CharSequence name, CharSequence value) {
    return switch (name.length()) {
      case 2 -> AsciiString.contentEquals(name, "te") && !AsciiString.contentEqualsIgnoreCase(value, "trailers");
      case 7 -> AsciiString.contentEquals(name, "upgrade");
      case 10 -> AsciiString.contentEquals(name, "connection") || AsciiString.contentEquals(name, "keep-alive");
      case 16 -> AsciiString.contentEquals(name, "proxy-connection");
      case 17 -> AsciiString.contentEquals(name, "transfer-encoding");
      default -> false;
    };
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    // The FIN of a head-only request is read before this, and input is then already shut down.
    if (held != null && !((QuicStreamChannel) ctx.channel()).isInputShutdown()) {
      if (bodyless(held)) { // its FIN may come in the next packet: wait for it (or DATA) a moment before framing
        if (!waiting) {
          waiting = true;
          ctx.executor().schedule(() -> {
            if (ctx.channel().isActive()) {
              passHead(ctx);
            }
          }, FIN_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        }
      } else {
        passHead(ctx);
      }
    }
    ctx.fireChannelReadComplete();
  }

  /** A method whose requests rarely carry content, without a content-length: most likely HEADERS then a late FIN. */
  private static boolean bodyless(HttpRequest r) {
    HttpMethod m = r.method();
    return (m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.DELETE || m == HttpMethod.OPTIONS)
        && !io.netty.handler.codec.http.HttpUtil.isContentLengthSet(r);
  }

  /**
   * QUIC RESET_STREAM from the client (quiche answers the stream's next read with it): told to {@link StreamProxy} as
   * {@link #CLIENT_RESET}, then the stream is closed, as an HTTP/2 stream is on RST_STREAM (Netty's
   * {@code Http3FrameToHttpObjectCodec} after this handler would only log the exception and leave the stream open,
   * its upstream request waiting for an answer nobody reads).
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof io.netty.handler.codec.quic.QuicStreamResetException) {
      cancelledByClient(ctx);
      return;
    }
    if (cause instanceof io.netty.handler.codec.http3.Http3Exception e && e.errorCode() == Http3ErrorCode.H3_MESSAGE_ERROR) {
      stats.txReset.increment(); // Netty's codec resets a malformed request stream itself (connection, te, content-length)
    }
    ctx.fireExceptionCaught(cause);
  }

  private void cancelledByClient(ChannelHandlerContext ctx) {
    stats.rxReset.increment();
    held = null;
    ended = true;
    ctx.fireUserEventTriggered(CLIENT_RESET);
    ctx.close();
  }

  /** The user event a client's RESET_STREAM becomes. */
  static final Object CLIENT_RESET = new Object() {
    @Override
    public String toString() {
      return "HTTP/3 client reset";
    }
  };

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == Http3StopSendingWatch.PEER_STOPPED) { // Envoy resets the upstream on STOP_SENDING too
      cancelledByClient(ctx);
      return;
    }
    if (evt == ChannelInputShutdownEvent.INSTANCE && stopSending != null) {
      // the stream reads nothing more (a RESET_STREAM alone after the FIN goes unseen): its STOP_SENDING is watched
      stopSending.watch((QuicStreamChannel) ctx.channel());
    }
    if (evt == ChannelInputShutdownEvent.INSTANCE && headSeen && !ended) {
      ended = true;
      if (held != null) {
        HttpRequest r = held;
        held = null;
        var full = new io.netty.handler.codec.http.DefaultFullHttpRequest(r.protocolVersion(), r.method(), r.uri(),
            Unpooled.EMPTY_BUFFER, r.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        full.headers().remove(io.netty.handler.codec.http.HttpHeaderNames.TRANSFER_ENCODING);
        ctx.fireChannelRead(full);
      } else {
        ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void passHead(ChannelHandlerContext ctx) {
    if (held != null) {
      HttpRequest r = held;
      held = null;
      if (!io.netty.handler.codec.http.HttpUtil.isContentLengthSet(r)) { // as Netty's HTTP/2 stream codec marks it
        r.headers().add(io.netty.handler.codec.http.HttpHeaderNames.TRANSFER_ENCODING,
            io.netty.handler.codec.http.HttpHeaderValues.CHUNKED);
      }
      ctx.fireChannelRead(r);
    }
  }
}
