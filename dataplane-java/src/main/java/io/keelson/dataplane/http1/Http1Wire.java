package io.keelson.dataplane.http1;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Chunked framing and fixed wire snippets written by the proxy. Stateless. */
final class Http1Wire {
  static final ByteBuffer CONTINUE_100 =
      ByteBuffer.wrap("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private Http1Wire() {}

  /** Writes one chunk: size line, the data (ownership passes to the channel), CRLF. Empty data writes nothing. */
  static void writeChunk(Channel channel, ByteBuf data) {
    int size = data.readableBytes();
    if (size == 0) {
      data.release();
      return;
    }
    ByteBuf line = channel.alloc().ioBuffer(10);
    int digits = (32 - Integer.numberOfLeadingZeros(size) + 3) / 4;
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
      line.writeByte(HEX[(size >>> shift) & 0xF]);
    }
    line.writeShort(0x0D0A);
    channel.write(line, channel.voidPromise());
    channel.write(data, channel.voidPromise());
    ByteBuf crlf = channel.alloc().ioBuffer(2);
    crlf.writeShort(0x0D0A);
    channel.write(crlf, channel.voidPromise());
  }

  /** Writes the last chunk and the trailers (may be null or empty). */
  static void writeLastChunk(Channel channel, Http1Headers trailers) {
    ByteBuf end = channel.alloc().ioBuffer(5);
    end.writeByte('0').writeShort(0x0D0A);
    if (trailers != null && trailers.size() > 0) {
      trailers.encodeTo(end);
    }
    end.writeShort(0x0D0A);
    channel.write(end, channel.voidPromise());
  }
}
