package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

/** Sets up each accepted connection of one tcp_proxy listener. Thread-safe (shared by all event loops). */
public final class TcpProxyInitializer extends ChannelInitializer<Channel> {
  private final TcpProxyContext context;
  private final ListenerConfig listener;
  private final TcpRbac rbac;
  private final java.util.Map<io.keelson.dataplane.config.SniChain, TcpRbac> sniRbac = new java.util.IdentityHashMap<>();

  public TcpProxyInitializer(TcpProxyContext context, ListenerConfig listener) {
    if (listener.tcpProxy() == null) {
      throw new IllegalArgumentException("listener '" + listener.name() + "' has no tcp_proxy");
    }
    this.context = context;
    this.listener = listener;
    this.rbac = TcpRbac.of(listener.tcpProxy(), context.stats());
    for (var chain : listener.sniChains()) {
      TcpRbac r = TcpRbac.of(chain.tcpProxy(), context.stats());
      if (r != null) {
        sniRbac.put(chain, r);
      }
    }
  }

  @Override
  protected void initChannel(Channel ch) {
    if (!listener.sniChains().isEmpty()) {
      ch.pipeline().addLast("sni", new SniRouter(context, listener.sniChains(), sniRbac));
      return;
    }
    if (listener.tls() != null) {
      TlsPipeline.addServer(ch, listener.tls(), context.stats().tls("listener." + listener.name()), listener.name(),
          listener.plaintextToo());
    }
    ch.pipeline().addLast("tcp-proxy", new TcpProxyHandler(context, listener.tcpProxy(), rbac, null));
  }
}
