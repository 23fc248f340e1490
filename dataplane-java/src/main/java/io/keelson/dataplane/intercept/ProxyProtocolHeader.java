package io.keelson.dataplane.intercept;

import io.netty.buffer.ByteBuf;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * A PROXY protocol header (HAProxy's spec, v1 text and v2 binary) read in place from the start of a connection's
 * bytes, without consuming them. {@link #read} answers {@link #NEED_MORE} while the bytes so far can still start a
 * header, a {@link Header} once one is complete, or throws {@link Malformed} as soon as they cannot.
 *
 * <pre>
 * v1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF      at most 107 bytes
 *     "PROXY" SP "UNKNOWN" [anything] CRLF                                    (the socket's own addresses)
 * v2:  0                  12        13        14       16
 *      | signature (12)   | ver|cmd | fam|proto| len    | addresses (IPv4: 12, IPv6: 36) | TLVs ... |
 *      ver 2; cmd 0 LOCAL (the socket's own addresses), 1 PROXY; fam 1 INET, 2 INET6, 0 UNSPEC, 3 UNIX
 *      (UNSPEC and UNIX keep the socket's own addresses); TLVs are skipped (bounded by len: at most 16 + 65,535 bytes)
 * </pre>
 * Stateless.
 */
public final class ProxyProtocolHeader {
  /** The v2 signature. */
  static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  static final byte[] V1_PREFIX = "PROXY ".getBytes(StandardCharsets.US_ASCII);
  /** The longest v1 header, CRLF included (the spec's 107). */
  static final int V1_MAX = 107;
  static final int V2_FIXED = 16;

  /** The bytes so far can start a header: wait for more. */
  public static final Header NEED_MORE = new Header(0, 0, null, null);

  /**
   * A complete header.
   *
   * @param version     1 or 2
   * @param length      the header's length in bytes (what to skip before the connection's own bytes)
   * @param source      the client's address it carries, or null (v1 UNKNOWN, v2 LOCAL, UNSPEC or UNIX)
   * @param destination the address the client connected to, or null with {@code source}
   */
  public record Header(int version, int length, InetSocketAddress source, InetSocketAddress destination) {}

  /** The bytes are not a PROXY protocol header (or a bad one); the message says why. */
  public static final class Malformed extends Exception {
    private final int version;

    Malformed(int version, String message) {
      super(message, null, false, false);
      this.version = version;
    }

    /** The version the bytes claimed (1 or 2), or 0 when they start neither. */
    public int version() {
      return version;
    }
  }

  private ProxyProtocolHeader() {}

  /**
   * Whether the bytes from {@code in}'s reader index are (so far) a prefix of a header's start: false as soon as they
   * cannot be (Envoy's allow_requests_without_proxy_protocol then passes them on as the connection's own).
   */
  public static boolean mayStart(ByteBuf in) {
    return matchesPrefix(in, V1_PREFIX) || matchesPrefix(in, V2_SIGNATURE);
  }

  /** The header at {@code in}'s reader index (not consumed), {@link #NEED_MORE}, or {@link Malformed}. */
  public static Header read(ByteBuf in) throws Malformed {
    if (matchesPrefix(in, V2_SIGNATURE)) {
      return in.readableBytes() < V2_SIGNATURE.length ? NEED_MORE : readV2(in);
    }
    if (matchesPrefix(in, V1_PREFIX)) {
      return in.readableBytes() < V1_PREFIX.length ? NEED_MORE : readV1(in);
    }
    throw new Malformed(0, "not a PROXY protocol header");
  }

  private static boolean matchesPrefix(ByteBuf in, byte[] prefix) {
    int n = Math.min(in.readableBytes(), prefix.length);
    int at = in.readerIndex();
    for (int i = 0; i < n; i++) {
      if (in.getByte(at + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static Header readV1(ByteBuf in) throws Malformed {
    int at = in.readerIndex();
    int limit = Math.min(in.readableBytes(), V1_MAX);
    int lf = -1;
    for (int i = V1_PREFIX.length; i < limit; i++) {
      byte b = in.getByte(at + i);
      if (b == '\n') {
        lf = i;
        break;
      }
    }
    if (lf < 0) {
      if (in.readableBytes() >= V1_MAX) {
        throw new Malformed(1, "v1 header longer than " + V1_MAX + " bytes");
      }
      return NEED_MORE;
    }
    if (in.getByte(at + lf - 1) != '\r') {
      throw new Malformed(1, "v1 header line does not end with CRLF");
    }
    String line = in.toString(at + V1_PREFIX.length, lf - 1 - V1_PREFIX.length, StandardCharsets.US_ASCII);
    int length = lf + 1;
    if (line.startsWith("UNKNOWN")) {
      return new Header(1, length, null, null);
    }
    String[] f = line.split(" ", -1);
    if (f.length != 5 || !(f[0].equals("TCP4") || f[0].equals("TCP6"))) {
      throw new Malformed(1, "v1 header is not 'PROXY TCP4|TCP6 src dst sport dport' nor 'PROXY UNKNOWN'");
    }
    boolean v6 = f[0].equals("TCP6");
    return new Header(1, length, new InetSocketAddress(v1Address(f[1], v6), v1Port(f[3])),
        new InetSocketAddress(v1Address(f[2], v6), v1Port(f[4])));
  }

  /**
   * A v1 address, parsed here and never by a resolver (a lookup would block the event loop): TCP4 takes a strict
   * dotted quad (four decimal parts 0-255, no leading zeros), TCP6 an IPv6 literal without scope or brackets.
   */
  private static InetAddress v1Address(String s, boolean v6) throws Malformed {
    byte[] bytes = v6 ? v6Literal(s) : v4DottedQuad(s);
    if (bytes == null) {
      throw new Malformed(1, "v1 address '" + s + "' is not an " + (v6 ? "IPv6" : "IPv4 dotted-quad") + " literal");
    }
    try {
      InetAddress a = InetAddress.getByAddress(bytes); // bytes: no lookup
      if (v6 && !(a instanceof Inet6Address)) { // ::ffff:a.b.c.d becomes IPv4: TCP4 says that
        throw new Malformed(1, "v1 address '" + s + "' is IPv4-mapped; TCP6 takes IPv6 addresses");
      }
      return a;
    } catch (UnknownHostException e) {
      throw new AssertionError(e); // 4 or 16 bytes
    }
  }

  /** Four decimal parts 0-255 without leading zeros, or null. */
  static byte[] v4DottedQuad(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int value = -1;
    int digits = 0;
    for (int i = 0; i <= s.length(); i++) {
      char c = i < s.length() ? s.charAt(i) : '.';
      if (c == '.') {
        if (digits == 0 || part == 4) {
          return null;
        }
        out[part++] = (byte) value;
        value = -1;
        digits = 0;
      } else if (c >= '0' && c <= '9') {
        if (digits == 1 && value == 0) {
          return null; // a leading zero (octal to some parsers)
        }
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (++digits > 3 || value > 255) {
          return null;
        }
      } else {
        return null;
      }
    }
    return part == 4 ? out : null;
  }

  /** An IPv6 literal (hex groups, ::, an embedded dotted quad), or null; no zone id, no brackets. */
  private static byte[] v6Literal(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
        return null;
      }
    }
    return NetUtil.isValidIpV6Address(s) ? NetUtil.createByteArrayFromIpAddressString(s) : null;
  }

  private static int v1Port(String s) throws Malformed {
    if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')
        || (s.length() > 1 && s.charAt(0) == '0')) {
      throw new Malformed(1, "v1 port '" + s + "' is not a number 0-65535");
    }
    int port = Integer.parseInt(s);
    if (port > 65535) {
      throw new Malformed(1, "v1 port '" + s + "' is not a number 0-65535");
    }
    return port;
  }

  private static Header readV2(ByteBuf in) throws Malformed {
    if (in.readableBytes() < V2_FIXED) {
      return NEED_MORE;
    }
    int at = in.readerIndex();
    int verCmd = in.getUnsignedByte(at + 12);
    if (verCmd >> 4 != 2) {
      throw new Malformed(2, "v2 header version " + (verCmd >> 4) + "; expected 2");
    }
    int command = verCmd & 0x0F;
    if (command > 1) {
      throw new Malformed(2, "v2 command " + command + "; expected 0 (LOCAL) or 1 (PROXY)");
    }
    int famProto = in.getUnsignedByte(at + 13);
    int family = famProto >> 4;
    int protocol = famProto & 0x0F;
    int len = in.getUnsignedShort(at + 14);
    int length = V2_FIXED + len;
    if (family > 3 || protocol > 2) {
      throw new Malformed(2, "v2 address family/protocol 0x" + Integer.toHexString(famProto) + " is not defined");
    }
    int addressBytes = switch (family) {
      case 1 -> 12;
      case 2 -> 36;
      case 3 -> 216;
      default -> 0;
    };
    if (command == 1 && len < addressBytes) {
      throw new Malformed(2, "v2 length " + len + " is shorter than its addresses (" + addressBytes + " bytes)");
    }
    if (in.readableBytes() < length) {
      return NEED_MORE;
    }
    if (command == 0 || (family != 1 && family != 2)) {
      return new Header(2, length, null, null); // LOCAL (a health check), UNSPEC, UNIX: the socket's own addresses
    }
    int ipBytes = family == 1 ? 4 : 16;
    int p = at + V2_FIXED;
    InetAddress src = v2Address(in, p, ipBytes);
    InetAddress dst = v2Address(in, p + ipBytes, ipBytes);
    int srcPort = in.getUnsignedShort(p + 2 * ipBytes);
    int dstPort = in.getUnsignedShort(p + 2 * ipBytes + 2);
    checkTlvs(in, p + addressBytes, at + length);
    return new Header(2, length, new InetSocketAddress(src, srcPort), new InetSocketAddress(dst, dstPort));
  }

  private static InetAddress v2Address(ByteBuf in, int at, int n) {
    byte[] b = new byte[n];
    in.getBytes(at, b);
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // 4 or 16 bytes: always an address
    }
  }

  /** The TLVs after the addresses must each fit within the header (they are skipped, not read). */
  private static void checkTlvs(ByteBuf in, int from, int end) throws Malformed {
    int p = from;
    while (p < end) {
      if (end - p < 3) {
        throw new Malformed(2, "v2 TLV header runs past the header's length");
      }
      int tlvLength = in.getUnsignedShort(p + 1);
      p += 3 + tlvLength;
      if (p > end) {
        throw new Malformed(2, "v2 TLV of type 0x" + Integer.toHexString(in.getUnsignedByte(p - 3 - tlvLength))
            + " runs past the header's length");
      }
    }
  }

  /**
   * The header a proxy sends first on an upstream connection (Envoy's upstream_proxy_protocol transport socket):
   * {@code version} 1 or 2, PROXY with the downstream's {@code source} and {@code destination}; when either is missing
   * or their families differ, v1 {@code UNKNOWN} / v2 {@code LOCAL} (the receiver then uses the connection's own).
   */
  public static ByteBuf encode(int version, InetSocketAddress source, InetSocketAddress destination,
      io.netty.buffer.ByteBufAllocator alloc) {
    boolean known = source != null && destination != null && source.getAddress() != null
        && destination.getAddress() != null
        && source.getAddress().getAddress().length == destination.getAddress().getAddress().length;
    if (version == 1) {
      String line = !known ? "PROXY UNKNOWN\r\n"
          : "PROXY " + (source.getAddress().getAddress().length == 4 ? "TCP4 " : "TCP6 ")
              + source.getAddress().getHostAddress() + " " + destination.getAddress().getHostAddress() + " "
              + source.getPort() + " " + destination.getPort() + "\r\n";
      return io.netty.buffer.ByteBufUtil.writeAscii(alloc, line);
    }
    ByteBuf b = alloc.buffer(V2_FIXED + 36);
    b.writeBytes(V2_SIGNATURE);
    if (!known) {
      return b.writeByte(0x20).writeByte(0x00).writeShort(0); // LOCAL, UNSPEC
    }
    byte[] src = source.getAddress().getAddress();
    byte[] dst = destination.getAddress().getAddress();
    b.writeByte(0x21).writeByte(src.length == 4 ? 0x11 : 0x21).writeShort(2 * src.length + 4);
    return b.writeBytes(src).writeBytes(dst).writeShort(source.getPort()).writeShort(destination.getPort());
  }
}
