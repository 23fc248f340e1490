package io.keelson.dataplane.http2;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamStopSending;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Sees a client's STOP_SENDING on the request streams of one HTTP/3 listener socket whose requests have ended (their
 * FIN read) and whose responses are still to come: such a stream reads nothing more, and Netty's QUIC codec tells of
 * STOP_SENDING only to a write, so a client giving up on a slow response would leave its upstream request running
 * (Envoy resets it). Sits on the UDP channel before the QUIC codec: after each batch of datagrams the codec has
 * processed, each watched stream is asked (one native call) and a stopped one gets {@link #PEER_STOPPED}, which
 * {@link Http3RequestDecoder} treats as the client's reset. Event-loop confined (the socket's, which is also its
 * connections' and streams').
 */
final class Http3StopSendingWatch extends ChannelInboundHandlerAdapter {
  /** The user event a stream the client stopped gets. */
  static final Object PEER_STOPPED = new Object() {
    @Override
    public String toString() {
      return "HTTP/3 client STOP_SENDING";
    }
  };

  private final Set<QuicStreamChannel> watched = new LinkedHashSet<>();
  private final List<QuicStreamChannel> stopped = new ArrayList<>();

  @Override
  public boolean isSharable() {
    return false;
  }

  /** Watches {@code stream} until it closes. */
  void watch(QuicStreamChannel stream) {
    if (watched.add(stream)) {
      stream.closeFuture().addListener(f -> watched.remove(stream));
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    ctx.fireChannelReadComplete(); // the QUIC codec processes the batch's frames
    if (watched.isEmpty()) {
      return;
    }
    for (QuicStreamChannel s : watched) {
      if (QuicStreamStopSending.received(s)) {
        stopped.add(s); // told after the loop: the event closes the stream, which leaves the set
      }
    }
    for (int i = 0; i < stopped.size(); i++) {
      stopped.get(i).pipeline().fireUserEventTriggered(PEER_STOPPED);
    }
    stopped.clear();
  }
}
