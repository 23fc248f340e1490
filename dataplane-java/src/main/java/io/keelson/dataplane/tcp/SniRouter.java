package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.SniChain;
import io.keelson.dataplane.stats.TcpStats;
import io.keelson.dataplane.stats.TlsStats;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;
import java.util.List;
import java.util.Map;

/**
 * Envoy's tls_inspector + filter_chain_match.server_names for tcp_proxy chains: reads the ClientHello
 * without consuming it (Netty's bounded ClientHello parser), picks the chain for its server name,
 * and replaces itself with that chain's tcp_proxy, which receives the ClientHello bytes first (passthrough);
 * a chain with a TLS context of its own gets that context's TLS handler in front of its tcp_proxy, which
 * receives the ClientHello and terminates the TLS with the chain's certificate (the tcp_proxy then relays
 * plaintext). A name no chain matches (and no chain without server_names) closes the connection, counted
 * as no route. Per connection, event-loop confined.
 */
final class SniRouter extends AbstractSniHandler<SniChain> {
  /** Envoy's tls_inspector gives up after 15 s without a complete ClientHello. */
  static final long CLIENT_HELLO_TIMEOUT_MS = 15_000;

  private final TcpProxyContext context;
  private final List<SniChain> chains;
  private final TcpStats noRouteStats;
  private final Map<SniChain, TcpRbac> rbac;
  private final Map<SniChain, io.keelson.dataplane.accesslog.AccessLogger> loggers;
  private final Map<SniChain, io.keelson.dataplane.stats.IstioMetricsConfig> istioMetrics;
  private final Map<SniChain, io.keelson.dataplane.filter.ConnectionGates> gates;
  /** The listener's TLS handshake counters and name, for chains that terminate. */
  private final TlsStats tlsStats;
  private final String listenerName;

  SniRouter(TcpProxyContext context, List<SniChain> chains) {
    this(context, chains, Map.of(), Map.of(), Map.of(), Map.of(), null, null);
  }

  /**
   * @param rbac    the network RBAC check of each chain that has one (read-only, shared)
   * @param loggers the access logs of each chain's tcp_proxy that has some (read-only, shared)
   * @param istioMetrics the shared metric overrides of each chain's tcp_proxy that has some (read-only, shared)
   * @param gates the connection gates of each chain that has some (read-only, shared)
   * @param tlsStats the listener's TLS counters (chains that terminate count their handshakes there); null when no
   *        chain terminates
   */
  SniRouter(TcpProxyContext context, List<SniChain> chains, Map<SniChain, TcpRbac> rbac,
      Map<SniChain, io.keelson.dataplane.accesslog.AccessLogger> loggers,
      Map<SniChain, io.keelson.dataplane.stats.IstioMetricsConfig> istioMetrics,
      Map<SniChain, io.keelson.dataplane.filter.ConnectionGates> gates, TlsStats tlsStats, String listenerName) {
    super(CLIENT_HELLO_TIMEOUT_MS);
    this.gates = gates;
    this.istioMetrics = istioMetrics;
    this.tlsStats = tlsStats;
    this.listenerName = listenerName;
    this.loggers = loggers;
    this.context = context;
    this.chains = chains;
    this.rbac = rbac;
    this.noRouteStats = context.stats().tcp(chains.getFirst().tcpProxy().statPrefix());
  }

  @Override
  protected Future<SniChain> lookup(ChannelHandlerContext ctx, String hostname) {
    return ctx.executor().newSucceededFuture(SniChain.select(chains, hostname));
  }

  @Override
  protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<SniChain> future) {
    SniChain chain = future.getNow();
    if (chain == null) {
      noRouteStats.cxNoRoute.increment(); // Envoy: no filter chain match
      ctx.close();
      return;
    }
    TcpProxyHandler proxy = new TcpProxyHandler(context, chain.tcpProxy(), rbac.get(chain), hostname, loggers.get(chain),
        istioMetrics.get(chain), gates.get(chain));
    if (chain.tls() == null) {
      ctx.pipeline().replace(this, "tcp-proxy", proxy);
      return;
    }
    // The TLS handler goes in before the tcp_proxy (which looks for it to authorize after the handshake); removing
    // this handler then hands the ClientHello it holds to the TLS handler, the next in line.
    TlsPipeline.addServerAfter(ctx.pipeline(), ctx.name(), chain.tls(), tlsStats, listenerName, context.tlsOffload().get());
    ctx.pipeline().addAfter("tls-handshake", "tcp-proxy", proxy);
    String exchange = chain.tcpProxy().peerExchangeProtocol();
    if (exchange != null) {
      ctx.pipeline().addBefore("tcp-proxy", TcpPeerExchange.NAME, TcpPeerExchange.of(context.stats(), exchange));
    }
    ctx.pipeline().remove(this);
  }
}
