package io.keelson.dataplane.filter.grpcweb;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Base64 (RFC 4648, standard alphabet, padding mandatory) over a body that arrives in chunks, for
 * {@code application/grpc-web-text}. Decoding carries the 0-3 characters of an incomplete quad into the
 * next chunk, so a chunk boundary may fall anywhere; a padded quad may be followed by more quads (a client
 * that encodes each message on its own). Encoding turns each chunk into whole padded quads, so every
 * chunk the client receives decodes on its own (as Envoy encodes each gRPC frame). One instance per
 * stream; not thread-safe (the stream's event loop).
 */
final class Base64Chunks {
  private static final byte[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final byte PAD = -2;
  private static final byte BAD = -1;
  private static final byte[] VALUES = new byte[256];

  static {
    java.util.Arrays.fill(VALUES, BAD);
    for (int i = 0; i < ALPHABET.length; i++) {
      VALUES[ALPHABET[i]] = (byte) i;
    }
    VALUES['='] = PAD;
  }

  private final byte[] quad = new byte[4];
  private int carried;

  /**
   * Decodes {@code in} (consumed, not released) after the characters carried from earlier chunks; the result holds
   * every whole quad, possibly empty. Throws {@link IllegalArgumentException} on a byte outside the alphabet or
   * misplaced padding.
   */
  ByteBuf decode(ByteBuf in, ByteBufAllocator alloc) {
    int n = in.readableBytes();
    ByteBuf out = alloc.buffer((carried + n) / 4 * 3);
    try {
      while (in.isReadable()) {
        quad[carried++] = in.readByte();
        if (carried == 4) {
          carried = 0;
          decodeQuad(out);
        }
      }
      return out;
    } catch (IllegalArgumentException e) {
      out.release();
      throw e;
    }
  }

  /** True when the body ended on a whole quad (else it was cut short: bad base64). */
  boolean atQuadBoundary() {
    return carried == 0;
  }

  private void decodeQuad(ByteBuf out) {
    int a = VALUES[quad[0] & 0xff];
    int b = VALUES[quad[1] & 0xff];
    int c = VALUES[quad[2] & 0xff];
    int d = VALUES[quad[3] & 0xff];
    if (a < 0 || b < 0 || c == BAD || d == BAD || (c == PAD && d != PAD)) {
      throw new IllegalArgumentException("invalid base64 data");
    }
    out.writeByte((a << 2) | (b >> 4));
    if (c == PAD) {
      return;
    }
    out.writeByte(((b & 0xf) << 4) | (c >> 2));
    if (d == PAD) {
      return;
    }
    out.writeByte(((c & 0x3) << 6) | d);
  }

  /** {@code in}'s readable bytes (consumed, not released) as padded base64. */
  static ByteBuf encode(ByteBuf in, ByteBufAllocator alloc) {
    int n = in.readableBytes();
    ByteBuf out = alloc.buffer((n + 2) / 3 * 4);
    while (in.readableBytes() >= 3) {
      int v = in.readUnsignedMedium();
      out.writeByte(ALPHABET[v >>> 18]);
      out.writeByte(ALPHABET[(v >>> 12) & 0x3f]);
      out.writeByte(ALPHABET[(v >>> 6) & 0x3f]);
      out.writeByte(ALPHABET[v & 0x3f]);
    }
    int left = in.readableBytes();
    if (left > 0) {
      int b0 = in.readUnsignedByte();
      int b1 = left == 2 ? in.readUnsignedByte() : 0;
      out.writeByte(ALPHABET[b0 >>> 2]);
      out.writeByte(ALPHABET[((b0 & 0x3) << 4) | (b1 >>> 4)]);
      out.writeByte(left == 2 ? ALPHABET[(b1 & 0xf) << 2] : '=');
      out.writeByte('=');
    }
    return out;
  }
}
