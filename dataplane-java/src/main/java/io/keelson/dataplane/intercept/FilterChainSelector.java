package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.DestinationChains;
import io.keelson.dataplane.config.ListenerConfig;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Sets up each connection of a listener whose filter chains are selected by destination: picks the chain for the
 * connection's local address (the original destination when the original_dst filter restored one, see
 * {@link OriginalDestination}) and hands the connection to that chain's own set-up (HTTP or tcp_proxy, as on a
 * listener of its own). A connection no chain matches, without a default chain, is closed and counted (Envoy's
 * {@code listener.<name>.no_filter_chain_match}) and written to the listener's access log with flag NR. Thread-safe (shared by all event loops; immutable).
 */
public final class FilterChainSelector extends ChannelInitializer<Channel> {
  private final DestinationChains chains;
  private final Map<ListenerConfig, ChannelHandler> handlers;
  private final LongAdder noMatch;
  private final io.keelson.dataplane.accesslog.AccessLogger accessLog;

  /**
   * @param handlers each chain's per-connection set-up, by chain config; a chain without one (this process does not
   *                 serve it) closes its connections as no match does
   * @param noMatch  counts the connections no chain matched
   */
  public FilterChainSelector(DestinationChains chains, Map<ListenerConfig, ChannelHandler> handlers, LongAdder noMatch) {
    this(chains, handlers, noMatch, null);
  }

  /** @param accessLog the listener's access logs (an entry, flag NR, for each connection no chain matched), or null */
  public FilterChainSelector(DestinationChains chains, Map<ListenerConfig, ChannelHandler> handlers, LongAdder noMatch,
      io.keelson.dataplane.accesslog.AccessLogger accessLog) {
    this.accessLog = accessLog;
    this.chains = chains;
    this.handlers = new IdentityHashMap<>(handlers);
    this.noMatch = noMatch;
  }

  @Override
  protected void initChannel(Channel ch) {
    ListenerConfig chain = chains.select(OriginalDestination.localAddress(ch));
    ChannelHandler handler = chain == null ? null : handlers.get(chain);
    if (handler == null) {
      noMatch.increment();
      if (accessLog != null) {
        io.keelson.dataplane.tcp.TcpAccessLog.refused(accessLog, ch, io.keelson.dataplane.stats.ResponseFlag.NR);
      }
      ch.close();
      return;
    }
    ch.pipeline().addLast(handler);
  }
}
