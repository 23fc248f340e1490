package io.keelson.dataplane.tcp;

import io.keelson.dataplane.stats.MeshIdentity;
import io.keelson.dataplane.stats.PeerExchangeFrame;
import io.keelson.dataplane.stats.PeerMetadataCache;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import java.util.function.Consumer;

/**
 * Istio's TCP metadata exchange on one side of a tcp_proxy connection (istio/proxy's {@code metadata_exchange}
 * network filter: downstream on an inbound chain, upstream on a cluster's {@code filters}). Once TLS negotiated the
 * configured ALPN protocol ({@code istio-peer-exchange}), writes this proxy's {@link PeerExchangeFrame} and takes the
 * peer's off the first bytes read, before the relay sees them; any other ALPN, plaintext or a failed handshake:
 * nothing is written and the handler leaves. A bad magic, a length over {@link PeerExchangeFrame#MAX_DATA_BYTES},
 * data that is no Struct or a FIN before the frame ends: no exchange, the bytes read so far go on as application
 * bytes (as istio/proxy, which then passes them on undrained). Holds at most one frame. Event-loop confined.
 */
final class TcpPeerExchange extends ChannelInboundHandlerAdapter {
  static final String NAME = "peer-exchange";
  /** The peer a completed exchange named, kept on the channel for a series bound after the handler left. */
  private static final AttributeKey<MeshIdentity> PEER = AttributeKey.valueOf(TcpPeerExchange.class, "peer");

  private final String protocol;
  private final byte[] ownFrame;
  private final PeerMetadataCache peers;
  /** The peer's frame as read so far (null before the first byte). */
  private ByteBuf held;
  private boolean exchanging;
  private Consumer<MeshIdentity> onPeer;

  /**
   * @param protocol the ALPN protocol that turns the exchange on (the filter's {@code protocol})
   * @param ownFrame this proxy's frame ({@code PeerMetadata.Own#tcpFrame}), never written to
   * @param peers    the decoded frames cache
   */
  TcpPeerExchange(String protocol, byte[] ownFrame, PeerMetadataCache peers) {
    this.protocol = protocol;
    this.ownFrame = ownFrame;
    this.peers = peers;
  }

  /** An exchange under ALPN {@code protocol} sending this proxy's metadata now, decoding through {@code stats}' cache. */
  static TcpPeerExchange of(io.keelson.dataplane.stats.StatsRegistry stats, String protocol) {
    return new TcpPeerExchange(protocol, stats.ownPeerMetadata().tcpFrame(), stats.tcpPeerMetadata());
  }

  /**
   * Tells {@code then} the peer {@code ch}'s exchange names: now when it is done, when it completes otherwise; never
   * when there is none. One listener per channel.
   */
  static void whenExchanged(Channel ch, Consumer<MeshIdentity> then) {
    if (ch.hasAttr(PEER)) {
      then.accept(ch.attr(PEER).get());
      return;
    }
    TcpPeerExchange h = ch.pipeline().get(TcpPeerExchange.class);
    if (h != null) {
      h.onPeer = then;
    }
  }

  /** Whether {@code ch} has or had an exchange (what {@link #whenExchanged} may tell); allocates nothing. */
  static boolean present(Channel ch) {
    return ch.hasAttr(PEER) || ch.pipeline().get(TcpPeerExchange.class) != null;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    SslHandler tls = ctx.pipeline().get(SslHandler.class);
    if (tls != null && tls.handshakeFuture().isDone()) {
      decide(ctx, tls);
    } else if (tls == null && ctx.pipeline().get(TlsPipeline.TLS_DETECT) == null) {
      ctx.pipeline().remove(this); // plaintext: no ALPN, no exchange
    }
  }

  private void decide(ChannelHandlerContext ctx, SslHandler tls) {
    if (!tls.handshakeFuture().isSuccess() || !protocol.equals(tls.applicationProtocol())) {
      ctx.pipeline().remove(this);
      return;
    }
    exchanging = true;
    ctx.writeAndFlush(Unpooled.wrappedBuffer(ownFrame), ctx.voidPromise());
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    SslHandler tls;
    if (evt instanceof SslHandshakeCompletionEvent && !exchanging && (tls = ctx.pipeline().get(SslHandler.class)) != null) {
      decide(ctx, tls);
    } else if (evt == TlsPipeline.DETECTED && ctx.pipeline().get(SslHandler.class) == null) {
      ctx.pipeline().remove(this);
    } else if (evt instanceof ChannelInputShutdownEvent && exchanging) {
      giveUp(ctx); // no more bytes: the frame never completes
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!exchanging || !(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    held = held == null ? in : Unpooled.wrappedBuffer(held, in);
    if (held.readableBytes() < PeerExchangeFrame.HEADER_BYTES) {
      readMore(ctx);
      return;
    }
    int start = held.readerIndex();
    int length = held.getInt(start + PeerExchangeFrame.LENGTH_OFFSET);
    if (held.getInt(start) != PeerExchangeFrame.MAGIC || length < 0 || length > PeerExchangeFrame.MAX_DATA_BYTES) {
      giveUp(ctx);
      return;
    }
    if (held.readableBytes() < PeerExchangeFrame.HEADER_BYTES + length) {
      readMore(ctx);
      return;
    }
    byte[] data = new byte[length];
    held.getBytes(start + PeerExchangeFrame.HEADER_BYTES, data);
    MeshIdentity peer = peers.get(PeerExchangeFrame.key(data));
    if (peer == MeshIdentity.UNKNOWN_IDENTITY) {
      giveUp(ctx); // not a Struct: istio/proxy leaves the bytes undrained
      return;
    }
    held.skipBytes(PeerExchangeFrame.HEADER_BYTES + length);
    ctx.channel().attr(PEER).set(peer);
    if (onPeer != null) {
      onPeer.accept(peer);
    }
    giveUp(ctx); // done: what follows the frame is application bytes
  }

  /** Asks for more of the frame when nothing else will (the tcp_proxy reads only on demand before relaying). */
  private static void readMore(ChannelHandlerContext ctx) {
    if (!ctx.channel().config().isAutoRead()) {
      ctx.read();
    }
  }

  /** Leaves the connection, passing on what it holds as application bytes. */
  private void giveUp(ChannelHandlerContext ctx) {
    exchanging = false;
    ByteBuf rest = held;
    held = null;
    ctx.pipeline().remove(this);
    if (rest != null) {
      if (rest.isReadable()) {
        ctx.fireChannelRead(rest);
        ctx.fireChannelReadComplete();
      } else {
        rest.release();
      }
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (held != null) {
      held.release();
      held = null;
    }
  }
}
