package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

/** Sets up each accepted connection of one tcp_proxy listener. Thread-safe (shared by all event loops). */
public final class TcpProxyInitializer extends ChannelInitializer<Channel> {
  private final TcpProxyContext context;
  private final ListenerConfig listener;

  public TcpProxyInitializer(TcpProxyContext context, ListenerConfig listener) {
    if (listener.tcpProxy() == null) {
      throw new IllegalArgumentException("listener '" + listener.name() + "' has no tcp_proxy");
    }
    this.context = context;
    this.listener = listener;
  }

  @Override
  protected void initChannel(Channel ch) {
    if (!listener.sniChains().isEmpty()) {
      ch.pipeline().addLast("sni", new SniRouter(context, listener.sniChains()));
      return;
    }
    if (listener.tls() != null) {
      TlsPipeline.addServer(ch, listener.tls(), context.stats().tls("listener." + listener.name()), listener.name());
    }
    ch.pipeline().addLast("tcp-proxy", new TcpProxyHandler(context, listener.tcpProxy()));
  }
}
