package io.keelson.dataplane.packet;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * IPv6 header layout (RFC 8200) and address helpers; offsets are from the start of the IP header. An
 * address is two longs on the hot path: {@code hi} (bytes 0..7, big-endian) and {@code lo} (8..15).
 *
 * <pre>
 *  0       1       2       3       4               6        7         8                24               40
 *  |ver| traffic class | flow label| payload length| next hdr| hop limit| source (16)    | destination (16)| extension headers, L4
 * </pre>
 *
 * <p>Threading: constants and pure functions only.
 */
public final class Ipv6 {
  public static final int PAYLOAD_LENGTH = 4;
  public static final int NEXT_HEADER = 6;
  public static final int HOP_LIMIT = 7;
  public static final int SRC = 8;
  public static final int DST = 24;
  public static final int HEADER_LENGTH = 40;

  // Next-header values (IANA): the extension headers the parser skips, the one it drops, and ICMPv6.
  public static final int HOP_BY_HOP = 0;
  public static final int ROUTING = 43;
  public static final int FRAGMENT = 44;
  public static final int DESTINATION_OPTIONS = 60;
  public static final int PROTO_ICMPV6 = 58;

  /** At most this many extension headers before the upper layer (RFC 8200 recommends no more than a few). */
  public static final int MAX_EXTENSION_HEADERS = 8;

  private Ipv6() {}

  /** An IPv6 address as two longs, for configuration (the hot path keeps the longs apart). */
  public record Address(long hi, long lo) {
    /** Parses a literal ({@code 2001:db8::10}, brackets allowed); never resolves names. */
    public static Address parse(String text) {
      String literal = text.trim();
      if (literal.startsWith("[") && literal.endsWith("]")) {
        literal = literal.substring(1, literal.length() - 1);
      }
      InetAddress address;
      try {
        address = literal.indexOf(':') >= 0 ? InetAddress.ofLiteral(literal) : null;
      } catch (IllegalArgumentException e) {
        address = null;
      }
      if (!(address instanceof Inet6Address)) {
        throw new IllegalArgumentException("'" + text + "' is not an IPv6 address literal");
      }
      byte[] b = address.getAddress();
      return new Address(bytesToLong(b, 0), bytesToLong(b, 8));
    }

    /** True when the upper {@code prefixLength} bits equal those of {@code network}'s. */
    public boolean in(Address network, int prefixLength) {
      return matches(hi, lo, network.hi, network.lo, prefixLength);
    }

    /** The RFC 5952 text form: lower case, the longest run of two or more zero groups as "::". */
    @Override
    public String toString() {
      int[] groups = new int[8];
      for (int i = 0; i < 4; i++) {
        groups[i] = (int) (hi >>> (48 - 16 * i)) & 0xFFFF;
        groups[4 + i] = (int) (lo >>> (48 - 16 * i)) & 0xFFFF;
      }
      int bestStart = -1;
      int bestLength = 1;
      for (int i = 0; i < 8; ) {
        int j = i;
        while (j < 8 && groups[j] == 0) {
          j++;
        }
        if (j - i > bestLength) {
          bestStart = i;
          bestLength = j - i;
        }
        i = j == i ? i + 1 : j;
      }
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < 8; i++) {
        if (i == bestStart) {
          sb.append("::");
          i += bestLength - 1;
          continue;
        }
        if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
          sb.append(':');
        }
        sb.append(Integer.toHexString(groups[i]));
      }
      return sb.toString();
    }
  }

  /** A CIDR literal ({@code 2001:db8::/64}); a bare address is a /128. */
  public record Prefix(Address network, int length) {
    public Prefix {
      if (length < 0 || length > 128) {
        throw new IllegalArgumentException("IPv6 prefix length " + length + " outside 0..128");
      }
    }

    public static Prefix parse(String cidr) {
      int slash = cidr.indexOf('/');
      if (slash < 0) {
        return new Prefix(Address.parse(cidr), 128);
      }
      int length;
      try {
        length = Integer.parseInt(cidr.substring(slash + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + cidr + "': the prefix length is not a number", e);
      }
      return new Prefix(Address.parse(cidr.substring(0, slash)), length);
    }

    public boolean contains(long hi, long lo) {
      return matches(hi, lo, network.hi(), network.lo(), length);
    }
  }

  /** Whether two addresses agree on their upper {@code prefixLength} bits. */
  static boolean matches(long hi, long lo, long netHi, long netLo, int prefixLength) {
    if (prefixLength <= 64) {
      return ((hi ^ netHi) & mask(prefixLength)) == 0;
    }
    return hi == netHi && ((lo ^ netLo) & mask(prefixLength - 64)) == 0;
  }

  /** The mask of the upper {@code bits} (0..64) of a long. */
  static long mask(int bits) {
    return bits == 0 ? 0 : -1L << (64 - bits);
  }

  /** The solicited-node multicast group's low half: ff02::1:ffXX:XXXX for the target's low 24 bits. */
  static long solicitedNodeLo(long targetLo) {
    return 0x0000_0001_FF00_0000L | (targetLo & 0xFF_FFFFL);
  }

  /** ff02:: (link-local multicast scope), the high half of every solicited-node group. */
  static final long SOLICITED_NODE_HI = 0xFF02_0000_0000_0000L;

  /** The Ethernet multicast MAC of an IPv6 multicast group: 33:33 and the group's low 32 bits (RFC 2464). */
  static long multicastMac(long groupLo) {
    return 0x3333_0000_0000L | (groupLo & 0xFFFF_FFFFL);
  }

  /** True for 33:33:xx:xx:xx:xx, the MACs IPv6 multicast (NDP's solicitations among them) arrives on. */
  static boolean isMulticastMac(long mac) {
    return (mac >>> 32) == 0x3333;
  }

  private static long bytesToLong(byte[] b, int from) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[from + i] & 0xFF);
    }
    return v;
  }
}
