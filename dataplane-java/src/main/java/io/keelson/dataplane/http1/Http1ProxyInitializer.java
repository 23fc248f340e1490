package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.ListenerConfig;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;

/** Sets up each accepted connection of one HTTP listener. Thread-safe (shared by all event loops). */
public final class Http1ProxyInitializer extends ChannelInitializer<Channel> {
  private final ProxyContext context;
  private final ListenerConfig listener;
  private final ChannelGroup connections;

  public Http1ProxyInitializer(ProxyContext context, ListenerConfig listener, ChannelGroup connections) {
    this.context = context;
    this.listener = listener;
    this.connections = connections;
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch);
    long idleNanos = listener.http().idleTimeout().toNanos();
    // h2c with prior knowledge on the same port: the detector swaps in the HTTP/2 handlers on its preface.
    ch.pipeline().addLast(io.keelson.dataplane.http2.Http2ServerSupport.cleartextDetector(context, listener));
    ch.pipeline().addLast(new DownstreamHandler(context, listener.name(), listener.http().limits(), idleNanos));
    long maxAge = listener.http().maxConnectionDuration().toNanos();
    if (maxAge > 0) {
      // Polite close at the age limit: now if idle, else after the current response (with Connection: close).
      var closing = ch.eventLoop().schedule(() -> drain(ch), maxAge, java.util.concurrent.TimeUnit.NANOSECONDS);
      ch.closeFuture().addListener(f -> closing.cancel(false));
    }
  }

  /** Asks a downstream connection to close once idle; call on its event loop. */
  public static void drain(Channel ch) {
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
}
