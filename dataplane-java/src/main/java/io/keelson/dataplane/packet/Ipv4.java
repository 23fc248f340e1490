package io.keelson.dataplane.packet;

/**
 * IPv4 header layout (RFC 791); offsets are from the start of the IP header.
 *
 * <pre>
 *  0       1       2               4               6               8       9       10              12              16              20
 *  |ver|IHL| TOS   | total length  | identification| flags|frag off| TTL   | proto | checksum      | source        | destination   | options...
 * </pre>
 *
 * <p>Threading: constants and pure functions only.
 */
public final class Ipv4 {
  public static final int VERSION_IHL = 0;
  public static final int TOTAL_LENGTH = 2;
  public static final int ID = 4;
  public static final int FLAGS_FRAGMENT = 6;
  public static final int TTL = 8;
  public static final int PROTOCOL = 9;
  public static final int CHECKSUM = 10;
  public static final int SRC = 12;
  public static final int DST = 16;
  public static final int MIN_HEADER_LENGTH = 20;

  /** More-fragments flag and the 13-bit offset: any of them set means a fragment. */
  public static final int MF_OR_OFFSET = 0x3FFF;

  public static final int PROTO_ICMP = 1;
  public static final int PROTO_TCP = 6;
  public static final int PROTO_UDP = 17;

  private Ipv4() {}

  /** Parses dotted-quad text into an int (for config and tests, not the hot path). */
  public static int parse(String dotted) {
    String[] parts = dotted.trim().split("\\.", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException("'" + dotted + "' is not an IPv4 address (a.b.c.d)");
    }
    int value = 0;
    for (String part : parts) {
      int octet;
      try {
        octet = Integer.parseInt(part);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + dotted + "' is not an IPv4 address (a.b.c.d)", e);
      }
      if (octet < 0 || octet > 255 || part.isEmpty()) {
        throw new IllegalArgumentException("'" + dotted + "' has an octet outside 0..255");
      }
      value = (value << 8) | octet;
    }
    return value;
  }

  public static String format(int ip) {
    return (ip >>> 24) + "." + ((ip >>> 16) & 0xFF) + "." + ((ip >>> 8) & 0xFF) + "." + (ip & 0xFF);
  }

  /** The network mask for a prefix length 0..32. */
  public static int mask(int prefixLength) {
    return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
  }
}
