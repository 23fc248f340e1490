package io.keelson.dataplane.intercept;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What Envoy's {@code envoy.filters.listener.tls_inspector} reads from a connection's first bytes for filter chain
 * matching: whether they start a TLS handshake record, and the ALPN protocol names the ClientHello offers (the
 * {@code application_layer_protocol_negotiation} extension, RFC 7301). Reads the ClientHello in its first record
 * (at most {@value #MAX_RECORD} bytes, Envoy's bound), in place, without moving the buffer's indexes; a ClientHello
 * split over several records, or malformed, offers no ALPN (the connection still goes to a TLS chain, whose handshake
 * then decides). Stateless.
 *
 * <pre>
 *  record:      type 0x16 | version (2) | length (2) | handshake ...
 *  handshake:   type 0x01 | length (3) | client_version (2) | random (32) | session_id (1+n)
 *               | cipher_suites (2+n) | compression_methods (1+n) | extensions (2+n)
 *  extension:   type (2) | length (2) | data; ALPN (16): list length (2), then names of length (1) + bytes
 * </pre>
 */
final class TlsClientHello {
  /** A TLS record carries at most 2^14 bytes of plaintext (RFC 8446 5.1). */
  static final int MAX_RECORD = 16384;
  private static final int HEADER = 5;
  private static final int ALPN = 16;

  private TlsClientHello() {}

  /** Whether the first readable byte of {@code in} starts a TLS handshake record. */
  static boolean startsHandshake(ByteBuf in) {
    return in.readableBytes() > 0 && in.getByte(in.readerIndex()) == 0x16;
  }

  /**
   * The ALPN names the ClientHello at the start of {@code in} offers (empty: none, or not readable as one), or null
   * when its first record has not fully arrived yet.
   */
  static List<String> alpn(ByteBuf in) {
    int start = in.readerIndex();
    if (in.readableBytes() < HEADER) {
      return null;
    }
    int length = in.getUnsignedShort(start + 3);
    if (length > MAX_RECORD + 2048) { // not a ClientHello any peer sends
      return List.of();
    }
    if (in.readableBytes() < HEADER + length) {
      return null;
    }
    try {
      return parse(in, start + HEADER, start + HEADER + length);
    } catch (IndexOutOfBoundsException malformed) {
      return List.of();
    }
  }

  private static List<String> parse(ByteBuf in, int at, int end) {
    if (in.getByte(at) != 0x01) {
      return List.of(); // not a ClientHello
    }
    int helloEnd = Math.min(end, at + 4 + in.getUnsignedMedium(at + 1));
    int p = at + 4 + 2 + 32;
    p += 1 + in.getUnsignedByte(p); // session id
    p += 2 + in.getUnsignedShort(p); // cipher suites
    p += 1 + in.getUnsignedByte(p); // compression methods
    if (p + 2 > helloEnd) {
      return List.of(); // no extensions
    }
    int extensionsEnd = Math.min(helloEnd, p + 2 + in.getUnsignedShort(p));
    p += 2;
    while (p + 4 <= extensionsEnd) {
      int type = in.getUnsignedShort(p);
      int length = in.getUnsignedShort(p + 2);
      p += 4;
      if (type == ALPN) {
        return names(in, p + 2, Math.min(p + length, p + 2 + in.getUnsignedShort(p)));
      }
      p += length;
    }
    return List.of();
  }

  private static List<String> names(ByteBuf in, int p, int end) {
    List<String> out = new ArrayList<>(4);
    while (p < end) {
      int n = in.getUnsignedByte(p);
      if (n == 0 || p + 1 + n > end) {
        break;
      }
      out.add(in.toString(p + 1, n, StandardCharsets.US_ASCII));
      p += 1 + n;
    }
    return List.copyOf(out);
  }
}
