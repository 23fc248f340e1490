package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ProxyProtocolConfig;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;

/**
 * Sets up each connection of a listener with the {@code envoy.filters.listener.proxy_protocol} listener filter: a
 * {@link ProxyProtocolReader} first, which hands the connection to the listener's own set-up ({@code next}: its HTTP,
 * tcp_proxy or chain-selecting initializer) once the header is read. Counts as Envoy does, under
 * {@code proxy_proto.[<stat_prefix>.]}: {@code versions.v1.found}, {@code versions.v1.disallowed},
 * {@code versions.v1.error} (and v2), {@code not_found_allowed}, {@code not_found_disallowed}; the legacy
 * {@code downstream_cx_proxy_proto_error} (every connection closed for its header) and the listener's
 * {@code downstream_pre_cx_timeout}. The connection joins the proxy's downstream connections at once, so a drain
 * closes one whose client has not sent its header. Thread-safe (shared by all event loops; immutable).
 */
public final class ProxyProtocolFilter extends ChannelInitializer<Channel> {
  private final ProxyProtocolConfig config;
  private final ChannelHandler next;
  private final ProxyProtocolReader.Counters counters;
  private final ChannelGroup connections;

  public ProxyProtocolFilter(String listener, ProxyProtocolConfig config, ChannelHandler next, StatsRegistry stats,
      ChannelGroup connections) {
    this.config = config;
    this.next = next;
    this.connections = connections;
    String root = config.statRoot();
    this.counters = new ProxyProtocolReader.Counters(stats.counter(root + "versions.v1.found"),
        stats.counter(root + "versions.v1.disallowed"), stats.counter(root + "versions.v1.error"),
        stats.counter(root + "versions.v2.found"), stats.counter(root + "versions.v2.disallowed"),
        stats.counter(root + "versions.v2.error"), stats.counter(root + "not_found_allowed"),
        stats.counter(root + "not_found_disallowed"), stats.counter("downstream_cx_proxy_proto_error"),
        stats.counter("listener." + listener + ".downstream_pre_cx_timeout"));
  }

  @Override
  protected void initChannel(Channel ch) {
    connections.add(ch); // the listener's set-up adds it again (a no-op); until then a drain closes it
    ch.pipeline().addLast("proxy-protocol", new ProxyProtocolReader(config, next, counters));
  }
}
