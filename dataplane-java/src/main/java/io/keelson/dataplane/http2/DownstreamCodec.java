package io.keelson.dataplane.http2;

import io.keelson.dataplane.stats.HttpStats;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.quic.QuicStreamChannel;

/**
 * What differs between the downstream stream kinds {@link StreamProxy} serves: the {@code %PROTOCOL%} it logs and
 * how a stream is reset (HTTP/2 RST_STREAM; HTTP/3 RESET_STREAM and STOP_SENDING with the RFC 9114 code for the same
 * reason). Stateless.
 */
enum DownstreamCodec {
  HTTP2("HTTP/2") {
    @Override
    void reset(Channel stream, Http2Error error) {
      stream.writeAndFlush(new DefaultHttp2ResetFrame(error));
    }

    @Override
    void stopReading(Channel stream) {
      stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR));
    }

    @Override
    void watchReset(Channel stream) {
      // RST_STREAM reaches the stream as an event whether it reads or not
    }

    @Override
    void countRequest(HttpStats stats) {
      stats.rqHttp2Total.increment();
    }
  },
  HTTP3("HTTP/3") {
    @Override
    void reset(Channel stream, Http2Error error) {
      ((QuicStreamChannel) stream).shutdown(h3(error).code());
    }

    @Override
    void stopReading(Channel stream) {
      // RFC 9114 §4.1: a complete response may end the request early with STOP_SENDING(H3_NO_ERROR)
      ((QuicStreamChannel) stream).shutdownInput(Http3ErrorCode.H3_NO_ERROR.code());
    }

    @Override
    void watchReset(Channel stream) {
      // Netty's QUIC stream learns of a RESET_STREAM only by reading (quiche answers the read with the reset): one
      // read is requested, so a reset comes in as soon as it arrives; a body chunk instead is one buffer, held while
      // routing, after which StreamProxy asks again (up to StreamProxy.WATCHED_BODY_LIMIT bytes per stream).
      QuicStreamChannel quic = (QuicStreamChannel) stream;
      if (!quic.isInputShutdown()) {
        quic.read();
      }
    }

    @Override
    void countRequest(HttpStats stats) {
      stats.rqHttp3Total.increment();
    }
  };

  /** {@code %PROTOCOL%}. */
  final String protocol;

  DownstreamCodec(String protocol) {
    this.protocol = protocol;
  }

  /** Resets the stream both ways with the code for {@code error}. On the stream's event loop. */
  abstract void reset(Channel stream, Http2Error error);

  /** Tells the client to stop sending the request body (its response is complete). On the stream's event loop. */
  abstract void stopReading(Channel stream);

  /** Lets a stream whose reading is paused still see the client's reset. On the stream's event loop. */
  abstract void watchReset(Channel stream);

  /** Envoy's {@code downstream_rq_http2_total} / {@code downstream_rq_http3_total}. */
  abstract void countRequest(HttpStats stats);

  private static Http3ErrorCode h3(Http2Error error) {
    return switch (error) {
      case NO_ERROR -> Http3ErrorCode.H3_NO_ERROR;
      case CANCEL -> Http3ErrorCode.H3_REQUEST_CANCELLED;
      case REFUSED_STREAM -> Http3ErrorCode.H3_REQUEST_REJECTED;
      case PROTOCOL_ERROR -> Http3ErrorCode.H3_MESSAGE_ERROR;
      default -> Http3ErrorCode.H3_INTERNAL_ERROR;
    };
  }
}
