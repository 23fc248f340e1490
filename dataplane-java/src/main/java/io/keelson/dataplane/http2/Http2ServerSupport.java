package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The door into HTTP/2 serving. {@link #configure} installs the HTTP/2 server handlers on a
 * connection's pipeline: call it for a cleartext connection whose client sent the h2 preface (the
 * {@link #cleartextDetector} does) or for a TLS connection whose ALPN chose "h2". Thread-safe (static;
 * the per-event-loop upstream pools are created on first use by each loop).
 */
public final class Http2ServerSupport {
  /** RST_STREAM frames a client may send per window before the connection is closed (CVE-2023-44487). */
  static final int MAX_RESETS_PER_WINDOW = 400;
  static final int RESET_WINDOW_SECONDS = 10;
  /** Runs of CONTINUATION frames carrying almost nothing that a client may send (CONTINUATION floods). */
  static final int MAX_SMALL_CONTINUATION_FRAMES = 16;

  private Http2ServerSupport() {}

  /**
   * Installs the HTTP/2 server codec, the stream multiplexer and the connection guard at the end of
   * {@code pipeline}. Call on the channel's event loop, before any HTTP/2 byte is read (the client
   * preface included). The listener must be an HTTP listener.
   */
  public static void configure(ChannelPipeline pipeline, ProxyContext context, ListenerConfig listener) {
    var hcm = listener.http();
    Http2Options options = hcm.http2();
    Http2Settings settings = Http2Settings.defaultSettings()
        .maxConcurrentStreams(options.maxConcurrentStreams())
        .initialWindowSize(options.initialStreamWindowSize())
        .maxHeaderListSize(hcm.limits().maxHeaderBytes());
    if (options.allowConnect()) {
      settings.connectProtocolEnabled(true); // SETTINGS_ENABLE_CONNECT_PROTOCOL: extended CONNECT, RFC 8441
    }
    Http2FrameCodec codec = Http2FrameCodecBuilder.forServer()
        .initialSettings(settings)
        .validateHeaders(true)
        .decoderEnforceMaxRstFramesPerWindow(MAX_RESETS_PER_WINDOW, RESET_WINDOW_SECONDS)
        .decoderEnforceMaxSmallContinuationFrames(MAX_SMALL_CONTINUATION_FRAMES)
        .gracefulShutdownTimeoutMillis(30_000)
        .build();
    ServerStreams streams = new ServerStreams(context, listener.name(), upstreams(context),
        hcm.streamIdleTimeout().toNanos(), options.maxConcurrentStreams(), DownstreamCodec.HTTP2);
    pipeline.addLast("h2-codec", codec);
    pipeline.addLast("h2-multiplex", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        if (streams.open >= streams.maxConcurrentStreams) {
          ch.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
          ch.close();
          return;
        }
        if (streams.retiredFrom != null && !streams.goingAway) {
          streams.goingAway = true; // after this read: the GOAWAY keeps the streams it carried
          ch.parent().eventLoop().execute(() -> ch.parent().close());
        }
        streams.open++;
        ch.closeFuture().addListener(f -> streams.open--);
        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true, false), new StreamProxy(streams));
      }
    }));
    // Switched to HTTP/2 after its listener was retired: served with the old snapshot, closed after its first streams.
    streams.retiredFrom = pipeline.channel().attr(io.keelson.dataplane.http1.Http1ProxyInitializer.RETIRED_FROM).get();
    pipeline.addLast("h2-guard", new ConnectionGuard(streams, codec, options.initialConnectionWindowSize(),
        options.prematureResetTotalStreamCount(), options.prematureResetMinStreamLifetimeSeconds()));
  }

  /**
   * A handler for the front of a cleartext HTTP/1.1 connection: if the first bytes are the HTTP/2
   * client preface it removes the HTTP/1.1 handlers after it and {@link #configure configures} HTTP/2;
   * otherwise it removes itself. It holds back channelActive from the handlers after it until it knows.
   */
  public static ChannelHandler cleartextDetector(ProxyContext context, ListenerConfig listener) {
    return new H2cDetector(context, listener, false);
  }

  /**
   * The same for a TLS-or-plaintext listener's connection that turned out plaintext: h2c with prior knowledge there
   * too, as Envoy's AUTO codec on a PERMISSIVE listener's plaintext chain. Its HTTP/1.1 handler is already active.
   */
  public static ChannelHandler plaintextDetector(ProxyContext context, ListenerConfig listener) {
    return new H2cDetector(context, listener, true);
  }

  /**
   * Starts a graceful close (GOAWAY, then close once the streams have finished) if {@code ch} serves
   * HTTP/2 or has not yet chosen its protocol; returns false for other connections. On the event loop.
   */
  public static boolean drain(Channel ch) {
    if (ch.pipeline().get(H2cDetector.class) != null) {
      ch.close();
      return true;
    }
    if (ch.pipeline().get(ConnectionGuard.class) != null) {
      ch.close(); // Http2FrameCodec's close is graceful: GOAWAY, then wait for the active streams
      return true;
    }
    return false;
  }

  /**
   * Drains an HTTP/2 connection whose listener was removed or replaced: its streams, open and opened before
   * the client sees the GOAWAY, are served with {@code before}; returns false if {@code ch} does not serve
   * HTTP/2 (yet). On the event loop.
   */
  public static boolean retire(Channel ch, ServingSnapshot before) {
    ConnectionGuard guard = ch.pipeline().get(ConnectionGuard.class);
    if (guard == null) {
      return false;
    }
    guard.retire(before);
    ch.close(); // graceful: GOAWAY, then wait for the active streams
    return true;
  }

  /**
   * Side calls ({@link UpstreamCalls}) through per-event-loop upstream channels of their own: the supplier, called on an
   * event loop, gives that loop's sender (made on first use). For callers outside HTTP (network ext_authz).
   */
  public static java.util.function.Supplier<UpstreamCalls> sideCalls(io.keelson.dataplane.transport.Transport transport,
      io.keelson.dataplane.stats.StatsRegistry stats) {
    FastThreadLocal<UpstreamChannels> local = new FastThreadLocal<>() {
      @Override
      protected UpstreamChannels initialValue() {
        return new UpstreamChannels(transport, stats);
      }
    };
    return () -> local.get().calls();
  }

  /** The side calls of the proxy's HTTP/2 streams (the same per-event-loop upstream channels), for tcp_proxy filters. */
  public static java.util.function.Supplier<UpstreamCalls> calls(ProxyContext context) {
    FastThreadLocal<UpstreamChannels> local = upstreams(context);
    return () -> local.get().calls();
  }

  /**
   * The proxy's per-event-loop HTTP/2 upstream channels, kept by its context (a static map keyed by context kept every
   * closed proxy: its values reach their key through the stats).
   */
  static FastThreadLocal<UpstreamChannels> upstreams(ProxyContext context) {
    return context.http2Upstreams(() -> new FastThreadLocal<>() {
      @Override
      protected UpstreamChannels initialValue() {
        return new UpstreamChannels(context.transport(), context.stats());
      }
    });
  }
}
