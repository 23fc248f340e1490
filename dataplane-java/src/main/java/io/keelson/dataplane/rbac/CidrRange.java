package io.keelson.dataplane.rbac;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An address prefix ({@code 10.0.0.0/8}, {@code 2001:db8::/32}); an IPv4 range also matches the
 * IPv4-mapped IPv6 form of its addresses. Immutable; {@link #contains} allocates nothing.
 */
public record CidrRange(byte[] prefix, int length) {
  /** Parses {@code address} with {@code prefixLen} (-1 = the whole address). */
  public static CidrRange of(String address, int prefixLen) {
    if (address.isEmpty() || !address.matches("[0-9a-fA-F:.]+")) {
      throw new IllegalArgumentException("'" + address + "' is not an IP address");
    }
    byte[] bytes;
    try {
      bytes = InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + address + "' is not an IP address");
    }
    int max = bytes.length * 8;
    int len = prefixLen < 0 ? max : prefixLen;
    if (len > max) {
      throw new IllegalArgumentException("prefix length " + len + " is longer than the address " + address + " (" + max
          + " bits)");
    }
    return new CidrRange(bytes, len);
  }

  /** Parses {@code 10.0.0.0/8} or a bare address. */
  public static CidrRange parse(String cidr) {
    int slash = cidr.indexOf('/');
    if (slash < 0) {
      return of(cidr, -1);
    }
    try {
      return of(cidr.substring(0, slash), Integer.parseInt(cidr.substring(slash + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + cidr + "' has no valid prefix length");
    }
  }

  public boolean contains(byte[] ip) {
    if (ip == null) {
      return false;
    }
    int offset = 0;
    if (ip.length == 16 && prefix.length == 4) {
      for (int i = 0; i < 10; i++) {
        if (ip[i] != 0) {
          return false;
        }
      }
      if (ip[10] != (byte) 0xff || ip[11] != (byte) 0xff) {
        return false;
      }
      offset = 12;
    } else if (ip.length != prefix.length) {
      return false;
    }
    int full = length / 8;
    for (int i = 0; i < full; i++) {
      if (ip[offset + i] != prefix[i]) {
        return false;
      }
    }
    int rest = length % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (ip[offset + full] & mask) == (prefix[full] & mask);
  }
}
