package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.QuicOptions;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http3.DefaultHttp3GoAwayFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.http3.Http3FrameToHttpObjectCodec;
import io.netty.handler.codec.http3.Http3ServerConnectionHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/3 listener's server side: the QUIC codec for its UDP socket ({@link #codec}), each QUIC connection's HTTP/3
 * control streams (Netty's {@link Http3ServerConnectionHandler}) and each request stream served by {@link StreamProxy}
 * exactly as an HTTP/2 stream (the same route, filters, upstreams, retries, stats and logs; {@code %PROTOCOL%} HTTP/3).
 * Bounds: the listener's {@code max_concurrent_streams} is the QUIC stream limit the client is given (quiche refuses
 * more), {@code idle_timeout} QUIC's idle timeout, {@code crypto_handshake_timeout} closes a connection whose
 * handshake has not completed. {@link #retire} drains: new connections are closed, GOAWAY, streams finish on the snapshot they started with.
 * Thread-safe: each connection and its streams live on the socket's event loop; {@link #retire} hops onto it.
 */
public final class Http3Listener {
  /** Envoy's QUIC defaults: 16 MiB per stream, 24 MiB per connection (RFC 9000 flow control). */
  static final long STREAM_WINDOW = 16L << 20;
  static final long CONNECTION_WINDOW = 24L << 20;
  /** RFC 9000 §20.1 CONNECTION_REFUSED: the server refuses to accept a new connection. */
  private static final int QUIC_CONNECTION_REFUSED = 0x2;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Http3Listener.class);
  private static final AttributeKey<ServerStreams> STREAMS = AttributeKey.valueOf(Http3Listener.class, "streams");

  private final ProxyContext context;
  private final String listenerName;
  /** The listener's chains selected by SNI (empty: one chain): a chain with its own connection manager serves the
   * connections whose SNI chose it. */
  private final java.util.List<io.keelson.dataplane.config.SniCertificate> chains;
  private final long streamIdleNanos;
  private final long maxHeaderBytes;
  private final QuicOptions quic;
  /** Envoy's overload.premature_reset_* runtime keys, as for HTTP/2 connections. */
  private final int prematureResetTotalStreamCount;
  private final long prematureResetMinLifetimeSeconds;
  private final ChannelGroup connections = new DefaultChannelGroup("h3-connections", GlobalEventExecutor.INSTANCE);
  private volatile ServingSnapshot retiredFrom;
  private final Http3CodecStats codecStats;

  public Http3Listener(ProxyContext context, ListenerConfig listener, QuicOptions quic) {
    this.context = context;
    this.listenerName = listener.name();
    this.chains = listener.sniCertificates();
    this.streamIdleNanos = listener.http().streamIdleTimeout().toNanos();
    this.maxHeaderBytes = listener.http().limits().maxHeaderBytes();
    this.quic = quic;
    this.codecStats = new Http3CodecStats(context.stats());
    this.prematureResetTotalStreamCount = listener.http().http2().prematureResetTotalStreamCount();
    this.prematureResetMinLifetimeSeconds = listener.http().http2().prematureResetMinStreamLifetimeSeconds();
  }

  /**
   * The handler for the listener's datagram channel: Netty's QUIC server codec with HTTP/3 on each connection, behind
   * the {@link Http3StopSendingWatch} that sees its clients' STOP_SENDING.
   */
  public ChannelHandler codec(QuicSslContext ssl) {
    ChannelHandler quicCodec = quicCodec(ssl);
    String noWatch = io.netty.handler.codec.quic.QuicStreamStopSending.unavailabilityCause();
    if (noWatch != null) {
      LOG.warn("HTTP/3 listener {}: a client's STOP_SENDING after its whole request will not cancel the upstream "
          + "request (a client RESET_STREAM still does): this Netty lacks {}", listenerName, noWatch);
      return quicCodec;
    }
    return new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel udp) {
        udp.pipeline().addLast(new Http3StopSendingWatch(quicCodec, codecStats.stopSendingChecks), quicCodec);
      }
    };
  }

  private ChannelHandler quicCodec(QuicSslContext ssl) {
    return Http3.newQuicServerCodecBuilder()
        .sslContext(ssl)
        .maxIdleTimeout(quic.idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .initialMaxData(CONNECTION_WINDOW)
        .initialMaxStreamDataBidirectionalRemote(STREAM_WINDOW)
        .initialMaxStreamDataBidirectionalLocal(STREAM_WINDOW)
        .initialMaxStreamsBidirectional(quic.maxConcurrentStreams())
        // No Retry round trip, as Envoy by default: quiche's anti-amplification limit (3x what an unvalidated address
        // sent, RFC 9000 §8.1) bounds reflection; Netty's InsecureQuicTokenHandler tokens could be forged anyway.
        .tokenHandler(null) // Netty's NoQuicTokenHandler
        .handler(new ChannelInitializer<QuicChannel>() {
          @Override
          protected void initChannel(QuicChannel ch) {
            onConnection(ch);
          }
        })
        .build();
  }

  private ServerStreams streams(String servingName, Http3ConnectionGuard guard) {
    ServerStreams s = new ServerStreams(context, servingName, Http2ServerSupport.upstreams(context),
        streamIdleNanos, quic.maxConcurrentStreams(), DownstreamCodec.HTTP3);
    s.codecTxReset = codecStats.txReset;
    return guard.guard(s);
  }

  private void onConnection(QuicChannel ch) {
    if (retiredFrom != null) { // draining: as Envoy's, a removed listener takes no new connection
      // once its first packet is processed, so that quiche can answer it with CONNECTION_CLOSE
      ch.eventLoop().execute(() -> ch.close(false, QUIC_CONNECTION_REFUSED, io.netty.buffer.Unpooled.EMPTY_BUFFER));
      return;
    }
    // Without SNI (no selection event) the chain without server_names serves the connection.
    var unnamed = chains.isEmpty() ? null : io.keelson.dataplane.config.SniCertificate.select(chains, null);
    Http3ConnectionGuard guard = new Http3ConnectionGuard(ch, prematureResetTotalStreamCount,
        prematureResetMinLifetimeSeconds);
    ch.attr(STREAMS).set(streams(unnamed != null && unnamed.servingName() != null ? unnamed.servingName()
        : listenerName, guard));
    connections.add(ch);
    ch.pipeline().addLast(new ServedChain(guard));
    var handshake = ch.eventLoop().schedule(() -> {
      if (!ch.isActive() && ch.isOpen()) { // a server QuicChannel turns active when its handshake completes
        ch.close(); // the handshake is late (crypto_handshake_timeout)
      }
    }, quic.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    ch.closeFuture().addListener(f -> handshake.cancel(false));
    Http3StopSendingWatch stopSending = ch.parent().pipeline().get(Http3StopSendingWatch.class);
    ch.pipeline().addLast(new Http3ServerConnectionHandler(new ChannelInitializer<QuicStreamChannel>() {
      @Override
      protected void initChannel(QuicStreamChannel stream) {
        ServerStreams streams = ch.attr(STREAMS).get();
        streams.open++;
        streams.lastStreamId = Math.max(streams.lastStreamId, stream.streamId());
        stream.closeFuture().addListener(f -> {
          streams.open--;
          if (streams.goingAway && streams.open == 0) {
            ch.close(true, Http3ErrorCode.H3_NO_ERROR.code(), io.netty.buffer.Unpooled.EMPTY_BUFFER);
          }
        });
        stream.pipeline().addLast(new Http3RequestDecoder(stopSending, codecStats), new Http3FrameToHttpObjectCodec(true, false),
            new StreamProxy(streams));
      }
    }, null, null, localSettings(), true));
  }

  /**
   * Sent in SETTINGS: max_request_headers_kb as the field section limit (RFC 9114 §4.2.2; Netty's default is 8 KiB). A
   * larger request head fails the connection with H3_EXCESSIVE_LOAD (Netty's codec; Envoy resets only the stream).
   * QPACK's dynamic table stays off, as Netty's default.
   */
  private io.netty.handler.codec.http3.Http3SettingsFrame localSettings() {
    return new io.netty.handler.codec.http3.DefaultHttp3SettingsFrame(
        io.netty.handler.codec.http3.Http3Settings.defaultSettings().maxFieldSectionSize(maxHeaderBytes));
  }

  /**
   * Serves a connection with the connection manager of the chain its SNI chose (reported by Netty's QUIC codec during
   * the handshake, before any request stream), as {@code SniCertificateHandler} does on TCP, and counts it in that
   * connection manager's {@code downstream_cx_total}/{@code _active} once its handshake completed (and in the
   * listener's, {@link Http3CodecStats}).
   */
  private final class ServedChain extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final Http3ConnectionGuard guard;

    ServedChain(Http3ConnectionGuard guard) {
      this.guard = guard;
    }

    @Override
    public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof io.netty.handler.ssl.SniCompletionEvent sni && !chains.isEmpty()) {
        var chosen = io.keelson.dataplane.config.SniCertificate.select(chains, sni.hostname());
        if (chosen != null) {
          ctx.channel().attr(STREAMS).set(streams(chosen.servingName() != null ? chosen.servingName() : listenerName,
              guard));
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelActive(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
      codecStats.connectionEstablished((java.net.InetSocketAddress) ctx.channel().parent().localAddress());
      ctx.channel().closeFuture().addListener(f -> codecStats.connectionClosed());
      ServerStreams streams = ctx.channel().attr(STREAMS).get();
      var served = streams.snapshot().listener(streams.listenerName());
      if (served != null) { // the connection manager's downstream_cx_total / _active, as for TCP connections
        served.stats().cxTotal.increment();
        served.stats().cxActive.increment();
        served.stats().cxHttp3Total.increment();
        served.stats().cxHttp3Active.increment();
        ctx.channel().closeFuture().addListener(f -> {
          served.stats().cxActive.decrement();
          served.stats().cxHttp3Active.decrement();
        });
      }
      super.channelActive(ctx);
    }
  }

  /** Open QUIC connections. */
  public int connectionCount() {
    return connections.size();
  }

  /**
   * Drains the listener's connections: each is sent GOAWAY (no new request stream is taken), its open streams are
   * served with {@code before}, and it is closed once they have ended, or after {@code drain}. The promise completes
   * when every connection is closed. Call from any thread.
   */
  public io.netty.util.concurrent.Future<Void> retire(ServingSnapshot before, Duration drain) {
    retiredFrom = before;
    Promise<Void> done = GlobalEventExecutor.INSTANCE.newPromise();
    if (connections.isEmpty()) {
      return done.setSuccess(null);
    }
    for (Channel c : connections) {
      c.eventLoop().execute(() -> goAway((QuicChannel) c, before));
    }
    GlobalEventExecutor.INSTANCE.schedule(() -> connections.close().addListener(f -> done.trySuccess(null)),
        drain.toMillis(), TimeUnit.MILLISECONDS);
    connections.newCloseFuture().addListener(f -> done.trySuccess(null));
    return done;
  }

  private static void goAway(QuicChannel ch, ServingSnapshot before) {
    ServerStreams streams = ch.attr(STREAMS).get();
    if (streams == null || streams.goingAway) {
      return;
    }
    streams.goingAway = true;
    streams.retiredFrom = before; // a stream still opened below the GOAWAY id is served as the open ones
    QuicStreamChannel control = Http3.getLocalControlStream(ch);
    if (control != null) {
      // the first request stream id not served: client bidirectional ids go by 4 (RFC 9000 §2.1)
      long next = streams.open == 0 && streams.lastStreamId < 0 ? 0 : streams.lastStreamId + 4;
      control.writeAndFlush(new DefaultHttp3GoAwayFrame(next));
    }
    if (streams.open == 0) {
      ch.close(true, Http3ErrorCode.H3_NO_ERROR.code(), io.netty.buffer.Unpooled.EMPTY_BUFFER);
    }
  }
}
