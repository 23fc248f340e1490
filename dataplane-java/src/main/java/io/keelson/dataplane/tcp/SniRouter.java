package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.SniChain;
import io.keelson.dataplane.stats.TcpStats;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;
import java.util.List;
import java.util.Map;

/**
 * Envoy's tls_inspector + filter_chain_match.server_names for TLS passthrough: reads the ClientHello
 * without consuming it (Netty's bounded ClientHello parser), picks the chain for its server name,
 * and replaces itself with that chain's tcp_proxy, which receives the ClientHello bytes first.
 * Per connection, event-loop confined.
 */
final class SniRouter extends AbstractSniHandler<SniChain> {
  /** Envoy's tls_inspector gives up after 15 s without a complete ClientHello. */
  static final long CLIENT_HELLO_TIMEOUT_MS = 15_000;

  private final TcpProxyContext context;
  private final List<SniChain> chains;
  private final TcpStats noRouteStats;
  private final Map<SniChain, TcpRbac> rbac;
  private final Map<SniChain, io.keelson.dataplane.accesslog.AccessLogger> loggers;

  SniRouter(TcpProxyContext context, List<SniChain> chains) {
    this(context, chains, Map.of(), Map.of());
  }

  /**
   * @param rbac    the network RBAC check of each chain that has one (read-only, shared)
   * @param loggers the access logs of each chain's tcp_proxy that has some (read-only, shared)
   */
  SniRouter(TcpProxyContext context, List<SniChain> chains, Map<SniChain, TcpRbac> rbac,
      Map<SniChain, io.keelson.dataplane.accesslog.AccessLogger> loggers) {
    super(CLIENT_HELLO_TIMEOUT_MS);
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
    ctx.pipeline().replace(this, "tcp-proxy", new TcpProxyHandler(context, chain.tcpProxy(), rbac.get(chain), hostname,
        loggers.get(chain)));
  }
}
