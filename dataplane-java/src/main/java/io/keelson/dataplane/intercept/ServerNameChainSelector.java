package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ServerNameChains;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Sets up each connection of a listener whose HTTPS and tcp_proxy chains are selected by server name
 * ({@link ServerNameChains}): gives it a {@link ServerNameInspector}, which reads the ClientHello and hands the
 * connection to the chosen chain's own set-up (HTTP over TLS, or tcp_proxy passing TLS through or terminating it).
 * A connection no chain takes is closed and counted ({@code listener.<name>.no_filter_chain_match}). The connection
 * joins the proxy's downstream connections at once, so a drain reaches one still sending its ClientHello.
 * Thread-safe (shared by all event loops; immutable).
 */
public final class ServerNameChainSelector extends ChannelInitializer<Channel> {
  private final ServerNameChains chains;
  private final Map<ListenerConfig, ChannelHandler> handlers;
  private final LongAdder noMatch;
  private final ChannelGroup connections;

  /**
   * @param listener    the listener's name, for its counter
   * @param handlers    each chain's per-connection set-up, by chain config; a chain without one closes its connections
   * @param connections the proxy's downstream connections, which drains tell and close
   */
  public ServerNameChainSelector(String listener, ServerNameChains chains, Map<ListenerConfig, ChannelHandler> handlers,
      StatsRegistry stats, ChannelGroup connections) {
    this.chains = chains;
    this.handlers = new IdentityHashMap<>(handlers);
    this.noMatch = stats.counter("listener." + listener + ".no_filter_chain_match");
    this.connections = connections;
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch); // the chain's set-up adds it again (a no-op)
    ch.pipeline().addLast("sni-chains", new ServerNameInspector(chains, handlers, noMatch));
  }
}
