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
 * byte was relayed before the handshake ended). Likewise when Istio's TCP metadata exchange names the workload at the
 * other end ({@link TcpPeerExchange}: the source inbound, the destination outbound), the connection moves to that
 * peer's series. Confined to the connection's event loop.
 */
final class IstioTcpPeerBinding extends ChannelInboundHandlerAdapter {
  private final StatsRegistry stats;
  private final String cluster;
  private final io.keelson.dataplane.stats.IstioMetricsConfig view;
  /** The connection's series; read by the close callback. */
  private IstioTcpDestination bound;
  /** The downstream certificate's SPIFFE ID (inbound), or null. */
  private String principal;
  /** The workload the metadata exchange named, or null. */
  private io.keelson.dataplane.stats.MeshIdentity peer;
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
    toUpstream[slot] = d.toUpstreamBytes;
    toDownstream[slot] = d.toDownstreamBytes;
    IstioTcpPeerBinding b = new IstioTcpPeerBinding(stats, cluster, view, d, toUpstream, toDownstream, slot);
    b.principal = principal;
    if (inbound && principal == null && tlsPending(down)) {
      down.pipeline().addLast(b);
    }
    return b;
  }

  /** The connection's series now. */
  IstioTcpDestination destination() {
    return bound;
  }

  /** The metadata exchange named {@code peer}: the connection moves to its series. */
  void peer(io.keelson.dataplane.stats.MeshIdentity peer) {
    this.peer = peer;
    rebind();
  }

  /** Moves the connection to the series of its principal and peer now (its opened count and byte counters). */
  private void rebind() {
    IstioTcpDestination d = stats.istioTcp(cluster, principal, peer, view);
    if (d != bound) {
      bound.opened.decrement();
      d.opened.increment();
      toUpstream[slot] = d.toUpstreamBytes;
      toDownstream[slot] = d.toDownstreamBytes;
      bound = d;
    }
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
        this.principal = principal;
        rebind();
      }
    } else if (evt == TlsPipeline.DETECTED && ctx.pipeline().get(SslHandler.class) == null) {
      ctx.pipeline().remove(this); // plaintext: nothing to wait for
    }
    ctx.fireUserEventTriggered(evt);
  }
}
