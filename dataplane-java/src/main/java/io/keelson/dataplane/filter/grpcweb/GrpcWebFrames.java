package io.keelson.dataplane.filter.grpcweb;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * The gRPC-Web wire pieces the proxy writes (PROTOCOL-WEB.md), as Envoy writes them:
 * <pre>
 *   trailer frame:  0x80 | length (4 bytes, big-endian) | "name:value\r\n" ...
 * </pre>
 * and grpc-message's percent-encoding. Stateless.
 */
final class GrpcWebFrames {
  /** The flags byte of a trailer frame. */
  static final int TRAILER_FLAG = 0x80;

  private GrpcWebFrames() {}

  /** {@code trailers} as one trailer frame ({@code name:value\r\n} each, names as the upstream sent them: lower case over HTTP/2). */
  static ByteBuf trailerFrame(HttpHeaders trailers, ByteBufAllocator alloc) {
    ByteBuf out = alloc.buffer(5 + 64);
    out.writeByte(TRAILER_FLAG);
    out.writeInt(0);
    Iterator<Map.Entry<CharSequence, CharSequence>> it = trailers.iteratorCharSequence();
    while (it.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      out.writeCharSequence(e.getKey(), StandardCharsets.ISO_8859_1);
      out.writeByte(':');
      out.writeCharSequence(e.getValue(), StandardCharsets.ISO_8859_1);
      out.writeByte('\r').writeByte('\n');
    }
    out.setInt(1, out.writerIndex() - 5);
    return out;
  }

  /** grpc-message's percent-encoding of a body: bytes outside printable ASCII, and '%', as %XX (Envoy's PercentEncoding::encode). */
  static String percentEncode(ByteBuf body) {
    StringBuilder sb = new StringBuilder(body.readableBytes());
    for (int i = body.readerIndex(); i < body.writerIndex(); i++) {
      int b = body.getUnsignedByte(i);
      if (b < ' ' || b > '~' || b == '%') {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(b >> 4, 16))).append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
      } else {
        sb.append((char) b);
      }
    }
    return sb.toString();
  }
}
