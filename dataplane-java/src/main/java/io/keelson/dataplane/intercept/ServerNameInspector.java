package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ServerNameChains;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's tls_inspector choosing among chains with different network filters: reads the ClientHello without consuming
 * it (Netty's bounded ClientHello parser; a client that is not speaking TLS has no server name), picks the chain for its
 * server name ({@link ServerNameChains#select}) and hands the connection to that chain's set-up, which then sees the
 * connection become active and receives the ClientHello first (its own TLS handler, or the tcp_proxy passing it
 * through). Envoy's tls_inspector gives up after 15 s without a complete ClientHello. Per connection, event-loop confined.
 */
final class ServerNameInspector extends AbstractSniHandler<ListenerConfig> {
  static final long CLIENT_HELLO_TIMEOUT_MS = 15_000;

  private final ServerNameChains chains;
  private final Map<ListenerConfig, ChannelHandler> handlers;
  private final LongAdder noMatch;

  ServerNameInspector(ServerNameChains chains, Map<ListenerConfig, ChannelHandler> handlers, LongAdder noMatch) {
    super(CLIENT_HELLO_TIMEOUT_MS);
    this.chains = chains;
    this.handlers = handlers;
    this.noMatch = noMatch;
  }

  @Override
  protected Future<ListenerConfig> lookup(ChannelHandlerContext ctx, String hostname) {
    return ctx.executor().newSucceededFuture(chains.select(hostname));
  }

  @Override
  protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<ListenerConfig> future) {
    ListenerConfig chain = future.getNow();
    ChannelHandler handler = chain == null ? null : handlers.get(chain);
    if (handler == null) {
      noMatch.increment(); // Envoy: no filter chain match
      ctx.close();
      return;
    }
    ctx.pipeline().addAfter(ctx.name(), null, handler); // a ChannelInitializer: its handlers replace it at once
    ctx.fireChannelActive(); // the first went by before the chain's handlers were there
    ctx.pipeline().remove(this); // the decoder passes the ClientHello on
  }
}
