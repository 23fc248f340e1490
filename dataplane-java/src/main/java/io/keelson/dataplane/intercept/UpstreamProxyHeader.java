package io.keelson.dataplane.intercept;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Envoy's {@code envoy.transport_sockets.upstream_proxy_protocol} on one upstream connection: first in its pipeline,
 * it writes the PROXY protocol header with the downstream connection's addresses ({@link RemoteAddress},
 * {@link OriginalDestination#localAddress}) as soon as the connection is up, before anything else (a TLS ClientHello,
 * the relayed bytes), then leaves. Per connection, event-loop confined.
 */
public final class UpstreamProxyHeader extends ChannelInboundHandlerAdapter {
  private final int version;
  private final Channel downstream;

  /** Call {@link #addFirst} instead. */
  private UpstreamProxyHeader(int version, Channel downstream) {
    this.version = version;
    this.downstream = downstream;
  }

  /** Puts the header writer first in {@code upstream}'s pipeline; {@code version} 1 or 2 (0: nothing to send). */
  public static void addFirst(Channel upstream, int version, Channel downstream) {
    if (version != 0) {
      upstream.pipeline().addFirst("upstream-proxy-protocol", new UpstreamProxyHeader(version, downstream));
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.writeAndFlush(ProxyProtocolHeader.encode(version, RemoteAddress.of(downstream),
        OriginalDestination.localAddress(downstream), ctx.alloc()));
    ctx.pipeline().remove(this);
    ctx.fireChannelActive(); // a TLS handler behind starts its handshake after the header
  }
}
