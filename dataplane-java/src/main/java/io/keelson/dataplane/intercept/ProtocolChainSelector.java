package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProtocolChains;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Sets up each connection of a listener whose filter chains are selected by detected application protocol
 * ({@link ProtocolChains}): gives it an {@link HttpInspector}, which hands it to the chain's own set-up once its first
 * bytes (or the listener filter timeout) decide. Counts as Envoy does: {@code http_inspector.http10_found},
 * {@code http11_found}, {@code http2_found}, {@code http_not_found}, on a listener with TLS chains the tls_inspector's
 * {@code tls_found}, {@code tls_not_found}, {@code alpn_found}, {@code alpn_not_found}, and the listener's
 * {@code downstream_pre_cx_timeout} and {@code no_filter_chain_match}. A connection joins the proxy's downstream
 * connections at once, while it is still being inspected, so a drain ({@code /drain_listeners}, shutdown) reaches one
 * whose client has sent nothing yet (with no listener filter timeout it would otherwise live for ever). Thread-safe (shared by all event loops; immutable).
 */
public final class ProtocolChainSelector extends ChannelInitializer<Channel> {
  private final ProtocolChains chains;
  private final Map<ListenerConfig, ChannelHandler> handlers;
  private final HttpInspector.Counters counters;
  private final ChannelGroup connections;

  /**
   * @param listener the listener's name, for its counters
   * @param handlers    each chain's per-connection set-up, by chain config; a chain without one closes its connections
   * @param connections the proxy's downstream connections, which drains tell and close
   */
  public ProtocolChainSelector(String listener, ProtocolChains chains, Map<ListenerConfig, ChannelHandler> handlers,
      StatsRegistry stats, ChannelGroup connections) {
    this.connections = connections;
    this.chains = chains;
    this.handlers = new IdentityHashMap<>(handlers);
    this.counters = new HttpInspector.Counters(stats.counter("http_inspector.http10_found"),
        stats.counter("http_inspector.http11_found"), stats.counter("http_inspector.http2_found"),
        stats.counter("http_inspector.http_not_found"), stats.counter("listener." + listener + ".downstream_pre_cx_timeout"),
        stats.counter("listener." + listener + ".no_filter_chain_match"), stats.counter("tls_inspector.tls_found"),
        stats.counter("tls_inspector.tls_not_found"), stats.counter("tls_inspector.alpn_found"),
        stats.counter("tls_inspector.alpn_not_found"));
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch); // the chain's set-up adds it again (a no-op); until then a drain closes it
    ch.pipeline().addLast("http-inspector", new HttpInspector(chains, handlers, counters));
  }
}
