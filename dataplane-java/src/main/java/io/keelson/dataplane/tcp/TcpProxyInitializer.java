package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.util.AttributeKey;

/** Sets up each accepted connection of one tcp_proxy listener. Thread-safe (shared by all event loops). */
public final class TcpProxyInitializer extends ChannelInitializer<Channel> {
  /** Set on every downstream connection of a tcp_proxy listener, from its setup on (any stage: SNI, connecting, relaying). */
  private static final AttributeKey<Boolean> TCP_PROXY = AttributeKey.valueOf(TcpProxyInitializer.class, "tcpProxy");
  private final TcpProxyContext context;
  private final ListenerConfig listener;
  private final ChannelGroup connections;
  private final TcpRbac rbac;
  /** The tcp_proxy chain's local_ratelimit / connection_limit state, shared by its connections; null for none. */
  private final io.keelson.dataplane.filter.ConnectionGates gates;
  private final java.util.Map<io.keelson.dataplane.config.SniChain, io.keelson.dataplane.filter.ConnectionGates> sniGates =
      new java.util.IdentityHashMap<>();
  /** The tcp_proxy's shared metric overrides, resolved once here (not per connection); null for none. */
  private final io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics;
  private final java.util.Map<io.keelson.dataplane.config.SniChain, io.keelson.dataplane.stats.IstioMetricsConfig>
      sniIstioMetrics = new java.util.IdentityHashMap<>();
  /** The TLS counters of an SNI-routed listener's terminating chains (looked up once, not per connection), or null. */
  private final io.keelson.dataplane.stats.TlsStats sniTlsStats;
  private final java.util.Map<io.keelson.dataplane.config.SniChain, TcpRbac> sniRbac = new java.util.IdentityHashMap<>();
  /** Access loggers, built once per listener config (formats compiled here, not per connection). */
  private final io.keelson.dataplane.accesslog.AccessLogger logger;
  private final java.util.Map<io.keelson.dataplane.config.SniChain, io.keelson.dataplane.accesslog.AccessLogger> sniLoggers =
      new java.util.IdentityHashMap<>();

  /**
   * @param connections the process's downstream connections, which every connection of this listener joins: shutdown
   *                    waits for them (up to the drain time) and /drain_listeners closes what is left at the drain time
   */
  public TcpProxyInitializer(TcpProxyContext context, ListenerConfig listener, ChannelGroup connections) {
    if (listener.tcpProxy() == null) {
      throw new IllegalArgumentException("listener '" + listener.name() + "' has no tcp_proxy");
    }
    this.context = context;
    this.listener = listener;
    this.connections = connections;
    this.rbac = TcpRbac.of(listener.tcpProxy(), context.stats());
    this.gates = io.keelson.dataplane.filter.ConnectionGates.of(listener.tcpProxy().gates(), context.stats());
    for (var chain : listener.sniChains()) {
      var g = io.keelson.dataplane.filter.ConnectionGates.of(chain.tcpProxy().gates(), context.stats());
      if (g != null) {
        sniGates.put(chain, g);
      }
      TcpRbac r = TcpRbac.of(chain.tcpProxy(), context.stats());
      if (r != null) {
        sniRbac.put(chain, r);
      }
      var m = TcpProxyHandler.istioMetrics(context, chain.tcpProxy());
      if (m != null) {
        sniIstioMetrics.put(chain, m);
      }
      var l = context.accessLogger(chain.tcpProxy().accessLogs());
      if (l != null) {
        sniLoggers.put(chain, l);
      }
    }
    this.logger = context.accessLogger(listener.tcpProxy().accessLogs());
    this.istioMetrics = TcpProxyHandler.istioMetrics(context, listener.tcpProxy());
    this.sniTlsStats = listener.sniChains().stream().anyMatch(c -> c.tls() != null)
        ? context.stats().tls("listener." + listener.name()) : null;
  }

  /**
   * Whether {@code ch} is a downstream connection of a tcp_proxy listener (set up by a {@code TcpProxyInitializer}),
   * whatever stage it is at: reading a ClientHello for SNI, connecting upstream, or relaying. tcp_proxy has no
   * in-band drain: on any drain (a retired listener, /drain_listeners, shutdown) such a connection keeps relaying
   * until it ends or the drain time closes it.
   */
  public static boolean isTcpProxy(Channel ch) {
    return Boolean.TRUE.equals(ch.attr(TCP_PROXY).get());
  }

  @Override
  protected void initChannel(Channel ch) {
    ch.attr(TCP_PROXY).set(Boolean.TRUE);
    connections.add(ch);
    if (!listener.sniChains().isEmpty()) {
      ch.pipeline().addLast("sni", new SniRouter(context, listener.sniChains(), sniRbac, sniLoggers,
          sniIstioMetrics, sniGates, sniTlsStats, listener.name()));
      return;
    }
    if (listener.tls() != null) {
      TlsPipeline.addServer(ch, listener.tls(), context.stats().tls("listener." + listener.name()), listener.name(),
          listener.plaintextToo(), context.tlsOffload().get());
      String exchange = listener.tcpProxy().peerExchangeProtocol();
      if (exchange != null) {
        ch.pipeline().addLast(TcpPeerExchange.NAME, TcpPeerExchange.of(context.stats(), exchange));
      }
    }
    ch.pipeline().addLast("tcp-proxy", new TcpProxyHandler(context, listener.tcpProxy(), rbac, null, logger,
        istioMetrics, gates));
  }
}
