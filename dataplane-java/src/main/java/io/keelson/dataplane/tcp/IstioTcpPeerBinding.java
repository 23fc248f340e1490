package io.keelson.dataplane.tcp;

import io.keelson.dataplane.accesslog.DownstreamTls;
import io.keelson.dataplane.stats.IstioTcpDestination;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Istio TCP series of an inbound tcp_proxy connection, bound to the caller's certificate once it is known. The
 * upstream is connected without waiting for the downstream TLS handshake (or, PERMISSIVE, for TLS to be detected), so
 * the connection starts on the series without a principal; when the handshake completes with a client certificate the
 * connection moves to that principal's series ({@code opened} moved, the relay's byte counters switched: no decrypted
 * byte was relayed before the handshake ended). Confined to the connection's event loop.
 */
final class IstioTcpPeerBinding extends ChannelInboundHandlerAdapter {
  private final StatsRegistry stats;
  private final String cluster;
  private final io.keelson.dataplane.stats.IstioMetricsConfig view;
  /** The connection's series; read by the close callback. */
  private IstioTcpDestination bound;
  private final LongAdder[] toUpstream;
  private final LongAdder[] toDownstream;
  private final int slot;

  private IstioTcpPeerBinding(StatsRegistry stats, String cluster, io.keelson.dataplane.stats.IstioMetricsConfig view,
      IstioTcpDestination bound, LongAdder[] toUpstream, LongAdder[] toDownstream, int slot) {
    this.stats = stats;
    this.cluster = cluster;
    this.view = view;
    this.bound = bound;
    this.toUpstream = toUpstream;
    this.toDownstream = toDownstream;
    this.slot = slot;
  }

  /**
   * The series of a connection to {@code cluster} as known now; for an inbound one whose TLS is not settled yet, a
   * binding added to {@code down}'s pipeline rebinds it later. {@code toUpstream[slot]}/{@code toDownstream[slot]} are
   * the relay's Istio byte counters; {@code view} the tcp_proxy's metric overrides (null for none).
   */
  static IstioTcpPeerBinding bind(StatsRegistry stats, String cluster, io.keelson.dataplane.stats.IstioMetricsConfig view,
      Channel down, LongAdder[] toUpstream, LongAdder[] toDownstream, int slot) {
    boolean inbound = cluster.startsWith("inbound|");
    String principal = inbound ? DownstreamTls.of(down).peerUriSan() : null;
    IstioTcpDestination d = stats.istioTcp(cluster, principal, view);
    toUpstream[slot] = d.sentBytes;
    toDownstream[slot] = d.receivedBytes;
    IstioTcpPeerBinding b = new IstioTcpPeerBinding(stats, cluster, view, d, toUpstream, toDownstream, slot);
    if (inbound && principal == null && tlsPending(down)) {
      down.pipeline().addLast(b);
    }
    return b;
  }

  /** The connection's series now. */
  IstioTcpDestination destination() {
    return bound;
  }

  private static boolean tlsPending(Channel down) {
    SslHandler tls = down.pipeline().get(SslHandler.class);
    return tls != null ? !tls.handshakeFuture().isDone() : down.pipeline().get(TlsPipeline.TLS_DETECT) != null;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof SslHandshakeCompletionEvent done) {
      ctx.pipeline().remove(this);
      String principal = done.isSuccess() ? DownstreamTls.of(ctx.channel()).peerUriSan() : null;
      if (principal != null) {
        IstioTcpDestination d = stats.istioTcp(cluster, principal, view);
        if (d != bound) {
          bound.opened.decrement();
          d.opened.increment();
          toUpstream[slot] = d.sentBytes;
          toDownstream[slot] = d.receivedBytes;
          bound = d;
        }
      }
    } else if (evt == TlsPipeline.DETECTED && ctx.pipeline().get(SslHandler.class) == null) {
      ctx.pipeline().remove(this); // plaintext: nothing to wait for
    }
    ctx.fireUserEventTriggered(evt);
  }
}
