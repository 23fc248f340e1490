package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.stats.TlsStats;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;

/** Sets up each accepted connection of one HTTP listener. Thread-safe (shared by all event loops). */
public final class Http1ProxyInitializer extends ChannelInitializer<Channel> {
  private final ProxyContext context;
  private final ListenerConfig listener;
  private final ChannelGroup connections;
  private final TlsStats tlsStats;

  public Http1ProxyInitializer(ProxyContext context, ListenerConfig listener, ChannelGroup connections) {
    this.context = context;
    this.listener = listener;
    this.connections = connections;
    this.tlsStats = listener.tls() == null ? null : context.stats().tls("listener." + listener.name());
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch);
    long idleNanos = listener.http().idleTimeout().toNanos();
    // The current snapshot's listener, so new certificates (a file reload, SDS) and a TLS mode pushed over
    // LDS (the sidecar's inbound listener: STRICT/PERMISSIVE/DISABLE) reach new connections.
    var current = context.snapshot().listener(listener.name());
    var cfg = current != null ? current.config() : listener;
    if (cfg.tls() != null) {
      var stats = tlsStats != null ? tlsStats : context.stats().tls("listener." + listener.name());
      TlsPipeline.addServer(ch, cfg.tls(), stats, listener.name(), cfg.plaintextToo());
    }
    ch.pipeline().addLast(TlsPipeline.HTTP_HANDLER,
        new DownstreamHandler(context, listener.name(), listener.http().limits(), idleNanos));
    long maxAge = listener.http().maxConnectionDuration().toNanos();
    if (maxAge > 0) {
      // Polite close at the age limit: now if idle, else after the current response (with Connection: close).
      var closing = ch.eventLoop().schedule(() -> drain(ch), maxAge, java.util.concurrent.TimeUnit.NANOSECONDS);
      ch.closeFuture().addListener(f -> closing.cancel(false));
    }
  }

  /** Asks a downstream connection to close once idle; call on its event loop. */
  public static void drain(Channel ch) {
    DownstreamHandler h = ch.pipeline().get(DownstreamHandler.class);
    if (h != null) {
      h.drain();
    } else {
      ch.close();
    }
  }
}
