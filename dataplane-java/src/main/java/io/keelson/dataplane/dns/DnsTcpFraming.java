package io.keelson.dataplane.dns;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;

/**
 * DNS over TCP's framing (RFC 1035 4.2.2, RFC 7766): each message is preceded by its length in two bytes. The one
 * place it is written and read: Netty's length-field codecs, on the proxy's TCP connections from apps and to the
 * upstream resolvers, so handlers read and write bare messages. Stateless.
 */
final class DnsTcpFraming {
  /** The largest DNS message: what a two-byte length can say. */
  static final int MAX_MESSAGE = 0xFFFF;

  private DnsTcpFraming() {}

  /** Adds the decoder (whole messages in, prefix stripped) and the prepender (prefix added to each message written). */
  static void addTo(ChannelPipeline pipeline) {
    pipeline.addLast(new LengthFieldBasedFrameDecoder(2 + MAX_MESSAGE, 0, 2, 0, 2), new LengthFieldPrepender(2));
  }
}
