package io.keelson.control.policy;

import java.math.BigInteger;
import java.net.InetAddress;

/**
 * An IP prefix as Envoy matches it ({@code CidrRange}): an IPv4 or IPv6 address literal and a length within the
 * address width, host bits masked off (Envoy masks them, so {@code 10.9.0.1/24} is {@code 10.9.0.0/24}); a bare
 * address is {@code /32} or {@code /128}. Two prefixes are the same for Envoy exactly when they are {@link #equals}.
 * The control plane's view (validation, identity, containment); the data plane's per-connection matcher is
 * {@code io.keelson.dataplane.rbac.CidrRange}, which neither masks nor compares. Immutable.
 *
 * @param address the masked address bits, as an unsigned number
 * @param length the prefix length
 * @param width 32 (IPv4) or 128 (IPv6)
 */
public record Cidr(BigInteger address, int length, int width) {
  /** {@code text} (an address, or address/length) as a prefix; {@link IllegalArgumentException} when {@link #problem}. */
  public static Cidr parse(String text) {
    String problem = problem(text);
    if (problem != null) {
      throw new IllegalArgumentException("'" + text + "' " + problem);
    }
    int slash = text.indexOf('/');
    byte[] bytes = InetAddress.ofLiteral(slash < 0 ? text : text.substring(0, slash)).getAddress();
    int width = bytes.length * 8;
    int length = slash < 0 ? width : Integer.parseInt(text.substring(slash + 1));
    if (length > width) {
      throw new IllegalStateException("'" + text + "': length " + length + " over width " + width); // problem refuses it
    }
    BigInteger bits = new BigInteger(1, bytes);
    return new Cidr(bits.shiftRight(width - length).shiftLeft(width - length), length, width);
  }

  /**
   * Why {@code text} is not an IP prefix ("is not an IP address or CIDR block; expected ..."), or null: the address an
   * IPv4 dotted quad or an IPv6 literal (not IPv4-mapped, {@code ::ffff:10.0.0.1}: Java reads
   * that as the IPv4 address, whose width is 32), the length digits within its width.
   */
  public static String problem(String text) {
    int slash = text == null ? -1 : text.indexOf('/');
    String addr = slash < 0 ? text : text.substring(0, slash);
    boolean v4 = IpLiteral.isIpv4(addr);
    if (!v4 && !(addr != null && addr.contains(":") && IpLiteral.is(addr))) {
      return "is not an IP address or CIDR block; expected an IPv4 or IPv6 address, optionally /length"
          + " (e.g. 10.0.0.0/8)";
    }
    if (!v4 && InetAddress.ofLiteral(addr) instanceof java.net.Inet4Address mapped) {
      return "is an IPv4-mapped IPv6 address; expected the IPv4 address itself (" + mapped.getHostAddress() + ")";
    }
    if (slash >= 0) {
      String len = text.substring(slash + 1);
      int width = v4 ? 32 : 128;
      if (!len.matches("\\d{1,3}") || Integer.parseInt(len) > width) {
        return "is not an IP address or CIDR block: its prefix length is not within 0-" + width + "; expected e.g. "
            + (v4 ? "10.0.0.0/8" : "fd00::/8");
      }
    }
    return null;
  }

  /** {@code text} as Envoy reads it: its prefix written {@code address/length}, host bits masked. */
  public static String canonical(String text) {
    return parse(text).toString();
  }

  /** True when every address of {@code other} is in this prefix. */
  public boolean contains(Cidr other) {
    return width == other.width && length <= other.length
        && other.address.shiftRight(width - length).equals(address.shiftRight(width - length));
  }

  /** The addresses in both prefixes (the narrower one when one contains the other), or null when none. */
  public Cidr intersection(Cidr other) {
    return contains(other) ? other : other.contains(this) ? this : null;
  }

  /** The address part as a literal; IPv6 with its longest run of zero groups as {@code ::} (RFC 5952). */
  public String addressText() {
    byte[] raw = address.toByteArray();
    byte[] bytes = new byte[width / 8];
    int n = Math.min(raw.length, bytes.length);
    System.arraycopy(raw, raw.length - n, bytes, bytes.length - n, n);
    String text;
    try {
      text = InetAddress.getByAddress(bytes).getHostAddress();
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e); // never: the length is 4 or 16
    }
    return width == 32 ? text : compressed(text.split(":"));
  }

  private static String compressed(String[] groups) {
    int best = -1;
    int bestLength = 1; // a single zero group stays "0"
    for (int i = 0; i < groups.length; i++) {
      int j = i;
      while (j < groups.length && groups[j].equals("0")) {
        j++;
      }
      if (j - i > bestLength) {
        best = i;
        bestLength = j - i;
      }
      i = Math.max(i, j);
    }
    if (best < 0) {
      return String.join(":", groups);
    }
    return String.join(":", java.util.Arrays.copyOfRange(groups, 0, best)) + "::"
        + String.join(":", java.util.Arrays.copyOfRange(groups, best + bestLength, groups.length));
  }

  @Override
  public String toString() {
    return addressText() + "/" + length;
  }
}
