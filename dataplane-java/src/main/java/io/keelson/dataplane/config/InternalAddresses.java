package io.keelson.dataplane.config;

import io.keelson.dataplane.rbac.CidrRange;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/**
 * The connection manager's {@code internal_address_config}: which downstream addresses are internal, as a
 * precomputed table of masks (IPv4 as ints, IPv6 as two longs) so that a check allocates nothing. An IPv4
 * range also matches the IPv4-mapped IPv6 form ({@code ::ffff:a.b.c.d}) of its addresses.
 *
 * <p>Envoy's default, when the field is absent, is that no address is internal (since Envoy 1.36 removed the
 * {@code explicit_internal_address_config} guard; before that, RFC 1918 and loopback addresses were trusted).
 * {@link #NONE} is that default. Immutable and thread-safe.
 */
public final class InternalAddresses {
  /** Envoy's current default: nothing is internal. */
  public static final InternalAddresses NONE = new InternalAddresses(false, List.of());

  private final boolean unixSockets;
  private final List<CidrRange> ranges;
  private final int[] v4Net;
  private final int[] v4Mask;
  private final long[] v6Net;
  private final long[] v6Mask;

  /**
   * @param unixSockets connections over a Unix domain socket are internal (Keelson listens on TCP only, so this
   *                    is kept for config round-trips and never matches)
   * @param ranges      the cidr_ranges
   */
  public InternalAddresses(boolean unixSockets, List<CidrRange> ranges) {
    this.unixSockets = unixSockets;
    this.ranges = List.copyOf(ranges);
    int v4 = 0;
    for (CidrRange r : this.ranges) {
      v4 += r.prefix().length == 4 ? 1 : 0;
    }
    v4Net = new int[v4];
    v4Mask = new int[v4];
    v6Net = new long[(this.ranges.size() - v4) * 2];
    v6Mask = new long[v6Net.length];
    int i4 = 0;
    int i6 = 0;
    for (CidrRange r : this.ranges) {
      byte[] p = r.prefix();
      if (p.length == 4) {
        int mask = r.length() == 0 ? 0 : -1 << (32 - r.length());
        v4Net[i4] = bits(p, 0, 4) & mask;
        v4Mask[i4++] = mask;
      } else {
        long hiMask = mask64(r.length());
        long loMask = mask64(r.length() - 64);
        v6Net[i6] = bitsLong(p, 0, 8) & hiMask;
        v6Net[i6 + 1] = bitsLong(p, 8, 8) & loMask;
        v6Mask[i6] = hiMask;
        v6Mask[i6 + 1] = loMask;
        i6 += 2;
      }
    }
  }

  /** The leading {@code length} bits set (0 for length ≤ 0, all for ≥ 64). */
  private static long mask64(int length) {
    return length <= 0 ? 0 : length >= 64 ? -1L : -1L << (64 - length);
  }

  private static long bitsLong(byte[] b, int from, int n) {
    long v = 0;
    for (int i = 0; i < n; i++) {
      v = v << 8 | (b[from + i] & 0xff);
    }
    return v;
  }

  private static int bits(byte[] b, int from, int n) {
    return (int) bitsLong(b, from, n);
  }

  public boolean unixSockets() {
    return unixSockets;
  }

  public List<CidrRange> ranges() {
    return ranges;
  }

  public boolean isEmpty() {
    return ranges.isEmpty() && !unixSockets;
  }

  /** True when the IPv4 address (big-endian in an int) is in one of the ranges. */
  public boolean containsV4(int address) {
    for (int i = 0; i < v4Net.length; i++) {
      if ((address & v4Mask[i]) == v4Net[i]) {
        return true;
      }
    }
    return false;
  }

  /** True when the IPv6 address (its high and low 64 bits) is in one of the ranges, or is IPv4-mapped and its IPv4 is. */
  public boolean containsV6(long hi, long lo) {
    for (int i = 0; i < v6Net.length; i += 2) {
      if ((hi & v6Mask[i]) == v6Net[i] && (lo & v6Mask[i + 1]) == v6Net[i + 1]) {
        return true;
      }
    }
    return hi == 0 && (lo >>> 32) == 0xffffL && containsV4((int) lo);
  }

  /** The check for a connection's peer (once per connection: {@link InetAddress#getAddress} copies). */
  public boolean contains(InetAddress address) {
    if (address instanceof Inet4Address) {
      return containsV4(bits(address.getAddress(), 0, 4));
    }
    if (address instanceof Inet6Address) {
      byte[] b = address.getAddress();
      return containsV6(bitsLong(b, 0, 8), bitsLong(b, 8, 8));
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof InternalAddresses other) || other.unixSockets != unixSockets
        || other.ranges.size() != ranges.size()) {
      return false;
    }
    for (int i = 0; i < ranges.size(); i++) {
      CidrRange a = ranges.get(i);
      CidrRange b = other.ranges.get(i);
      if (a.length() != b.length() || !java.util.Arrays.equals(a.prefix(), b.prefix())) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return ranges.size() * 31 + (unixSockets ? 1 : 0);
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("InternalAddresses[unixSockets=").append(unixSockets).append(", ranges=");
    for (int i = 0; i < ranges.size(); i++) {
      CidrRange r = ranges.get(i);
      try {
        b.append(i == 0 ? "" : ",").append(InetAddress.getByAddress(r.prefix()).getHostAddress()).append('/').append(r.length());
      } catch (java.net.UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }
    return b.append(']').toString();
  }
}
