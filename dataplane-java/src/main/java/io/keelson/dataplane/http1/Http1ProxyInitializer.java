package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.TlsStats;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.util.AttributeKey;

/** Sets up each accepted connection of one HTTP listener. Thread-safe (shared by all event loops). */
public final class Http1ProxyInitializer extends ChannelInitializer<Channel> {
  /**
   * On a connection whose listener was removed or replaced: the snapshot that still had the listener (set by
   * {@link #retire}), read once when the connection switches to HTTP/2 after that.
   */
  public static final AttributeKey<ServingSnapshot> RETIRED_FROM = AttributeKey.valueOf("keelson.retiredFrom");

  private final ProxyContext context;
  private final ListenerConfig listener;
  private final ChannelGroup connections;
  private final TlsStats tlsStats;
  /** For an ALPN switch to HTTP/2 on a TLS listener. */
  private final io.keelson.dataplane.http2.Http2AlpnHook.Server h2Server;

  public Http1ProxyInitializer(ProxyContext context, ListenerConfig listener, ChannelGroup connections) {
    this.context = context;
    this.listener = listener;
    this.connections = connections;
    this.tlsStats = listener.tls() == null ? null : context.stats().tls("listener." + listener.name());
    this.h2Server = new io.keelson.dataplane.http2.Http2AlpnHook.Server(context, listener);
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch);
    long idleNanos = listener.http().idleTimeout().toNanos();
    // The current snapshot's listener, so new certificates (a file reload, SDS) and a TLS mode pushed over
    // LDS (the sidecar's inbound listener: STRICT/PERMISSIVE/DISABLE) reach new connections.
    // HTTP/2 over TLS is chosen by ALPN (tls/AlpnHook), not by the cleartext preface.
    var current = context.snapshot().listener(listener.name());
    var cfg = current != null ? current.config() : listener;
    if (cfg.tls() != null) {
      var stats = tlsStats != null ? tlsStats : context.stats().tls("listener." + listener.name());
      if (cfg.sniCertificates().isEmpty()) {
        // PERMISSIVE: a plaintext client may speak h2c with prior knowledge (plaintext gRPC), as on a plaintext listener.
        TlsPipeline.addServer(ch, cfg.tls(), stats, listener.name(), cfg.plaintextToo(), context.tlsOffload(),
            () -> io.keelson.dataplane.http2.Http2ServerSupport.cleartextDetector(context, listener));
      } else {
        TlsPipeline.addServerBySni(ch, cfg.sniCertificates(), stats, listener.name(), context.tlsOffload());
      }
      io.keelson.dataplane.http2.Http2AlpnHook.bind(ch, h2Server);
    } else {
      // h2c with prior knowledge on the same port: the detector swaps in the HTTP/2 handlers on its preface.
      ch.pipeline().addLast(io.keelson.dataplane.http2.Http2ServerSupport.cleartextDetector(context, listener));
    }
    ch.pipeline().addLast(TlsPipeline.HTTP_HANDLER,
        new DownstreamHandler(context, listener.name(), listener.http().limits(), idleNanos,
            listener.http().streamIdleTimeout().toNanos()));
    long maxAge = listener.http().maxConnectionDuration().toNanos();
    if (maxAge > 0) {
      // Polite close at the age limit: now if idle, else after the current response (with Connection: close).
      var closing = ch.eventLoop().schedule(() -> drain(ch), maxAge, java.util.concurrent.TimeUnit.NANOSECONDS);
      ch.closeFuture().addListener(f -> closing.cancel(false));
    }
  }

  /**
   * The name {@code ch}'s HTTP/1.1 handler serves it under: its listener's, or the SNI-selected TLS chain's when that
   * chain runs a connection manager of its own; null when the handler is gone. Call on its event loop.
   */
  public static String servingName(Channel ch) {
    DownstreamHandler h = ch.pipeline().get(DownstreamHandler.class);
    return h == null ? null : h.servingName();
  }

  /**
   * Asks a downstream connection to close once idle (shutdown, /drain_listeners, the age limit); call on its event
   * loop. A tcp_proxy connection ({@link io.keelson.dataplane.tcp.TcpProxyInitializer#isTcpProxy}) is left
   * relaying, as in Envoy, where tcp_proxy has no in-band drain: it ends when its client or upstream closes it, or
   * is closed when the drain time has passed (by whoever started the drain: {@code ProxyServer}'s shutdown and
   * /drain_listeners, a retiring {@code ListenerSet}).
   */
  public static void drain(Channel ch) {
    if (io.keelson.dataplane.tcp.TcpProxyInitializer.isTcpProxy(ch)) {
      return; // no in-band drain: relays until it ends or the drain time's close
    }
    if (io.keelson.dataplane.http2.Http2ServerSupport.drain(ch)) {
      return;
    }
    DownstreamHandler h = ch.pipeline().get(DownstreamHandler.class);
    if (h != null) {
      h.drain();
    } else {
      ch.close();
    }
  }

  /**
   * Drains a connection whose listener an update removed, replaced or changed in place, as Envoy does: its
   * in-flight and next requests are served with {@code before} (the snapshot that still had the listener as the
   * connection knew it), HTTP/1.1 with
   * {@code Connection: close} on the next response, HTTP/2 with a GOAWAY; a connection that has not sent a
   * request yet (accepted just before the listener went) is kept to serve it. A tcp_proxy connection
   * ({@link io.keelson.dataplane.tcp.TcpProxyInitializer#isTcpProxy}) is left relaying, as in Envoy, where
   * tcp_proxy has no in-band drain: it ends when its client or upstream closes it, or is closed when the drain
   * time has passed (the retiring {@code ListenerSet} schedules that close for every retired connection), as
   * {@link #drain} leaves it. Other connections are drained as by {@link #drain}. Call on its event loop; calling it
   * twice is harmless.
   */
  public static void retire(Channel ch, ServingSnapshot before) {
    if (io.keelson.dataplane.tcp.TcpProxyInitializer.isTcpProxy(ch)) {
      return; // no in-band drain: relays until it ends or the drain time's close
    }
    ch.attr(RETIRED_FROM).set(before);
    if (io.keelson.dataplane.http2.Http2ServerSupport.retire(ch, before)) {
      return;
    }
    DownstreamHandler h = ch.pipeline().get(DownstreamHandler.class);
    if (h != null) {
      h.retire(before); // also behind the h2c detector or a TLS handshake: the protocol is not chosen yet
    } else {
      drain(ch);
    }
  }
}
