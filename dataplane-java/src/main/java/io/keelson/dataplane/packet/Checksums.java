package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * Internet checksums (RFC 1071) over packet bytes, and their incremental updates (RFC 1624,
 * equation 3: {@code HC' = ~(~HC + ~m + m')}) so a NAT rewrite touches only the words it changes.
 *
 * <p>Threading: stateless static functions; safe from any thread.
 */
public final class Checksums {
  private Checksums() {}

  /** The 32-bit running one's-complement sum of {@code len} bytes from {@code offset} (odd tail padded). */
  public static int sum(PacketBuffer buf, int offset, int len, int initial) {
    long sum = initial & 0xFFFFFFFFL;
    int end = offset + (len & ~3);
    int i = offset;
    for (; i < end; i += 4) {
      sum += Integer.toUnsignedLong(buf.getInt(i));
    }
    if ((len & 2) != 0) {
      sum += buf.getShort(i);
      i += 2;
    }
    if ((len & 1) != 0) {
      sum += buf.getByte(i) << 8;
    }
    // Fold the 64-bit accumulator into 32 bits without losing carries.
    sum = (sum & 0xFFFFFFFFL) + (sum >>> 32);
    sum = (sum & 0xFFFFFFFFL) + (sum >>> 32);
    return (int) sum;
  }

  /** Folds a running sum into 16 bits (end-around carry), not complemented. */
  public static int fold(int sum) {
    long s = Integer.toUnsignedLong(sum);
    s = (s & 0xFFFF) + (s >>> 16);
    s = (s & 0xFFFF) + (s >>> 16);
    s = (s & 0xFFFF) + (s >>> 16);
    return (int) s;
  }

  /** Folds a 64-bit running sum of 32-bit words into 16 bits (end-around carry), not complemented. */
  public static int foldLong(long sum) {
    sum = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
    sum = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
    return fold((int) sum);
  }

  /** The inverse of 0xFFFF modulo 2^64, and the largest 64-bit multiple's quotient: see {@link #foldsToAllOnes}. */
  private static final long INVERSE_OF_FFFF = 0xFFFE_FFFE_FFFE_FFFFL;
  private static final long MAX_QUOTIENT_BY_FFFF = 0x0001_0001_0001_0001L;

  /**
   * Whether a 64-bit sum of 16- or 32-bit words folds to 0xFFFF, that is {@code foldLong(sum) == 0xFFFF}: the mark of a
   * valid checksum. Folding keeps the value modulo 0xFFFF (2^16 = 1 modulo 0xFFFF), and a sum above zero folds into
   * [1, 0xFFFF], so this is "a multiple of 0xFFFF, not zero". The multiple test is the multiply by the odd divisor's
   * inverse (Granlund and Montgomery): {@code x} is a multiple of 0xFFFF exactly when {@code x * inverse} (mod 2^64)
   * is at most (2^64 − 1) / 0xFFFF as an unsigned number. A multiply and two compares, where the five folds of
   * {@link #foldLong} compile to about 22 instructions, on every packet the parser takes.
   */
  public static boolean foldsToAllOnes(long sum) {
    return Long.compareUnsigned(sum * INVERSE_OF_FFFF, MAX_QUOTIENT_BY_FFFF) <= 0 && sum != 0;
  }

  /** The IPv4 header checksum as it should be written, computed with the checksum field as zero. */
  public static int ipv4Header(PacketBuffer buf, int l3, int headerLength) {
    int s = sum(buf, l3, headerLength, 0);
    int stored = buf.getShort(l3 + Ipv4.CHECKSUM);
    // Subtracting in one's complement = adding the complement.
    return ~fold(fold(s) + (~stored & 0xFFFF)) & 0xFFFF;
  }

  /** True when the IPv4 header (including its checksum field) sums to 0xFFFF. */
  public static boolean ipv4HeaderValid(PacketBuffer buf, int l3, int headerLength) {
    return fold(sum(buf, l3, headerLength, 0)) == 0xFFFF;
  }

  /**
   * The TCP/UDP checksum as it should be written for the segment at {@code l4} ({@code l4Length}
   * bytes), over the pseudo-header, computed with the checksum field as zero.
   */
  public static int l4(PacketBuffer buf, int l3, int l4, int l4Length, int protocol) {
    int checksumOffset = l4 + (protocol == Ipv4.PROTO_TCP ? Tcp.CHECKSUM : Udp.CHECKSUM);
    int s = pseudoHeaderSum(buf, l3, l4Length, protocol);
    s = sum(buf, l4, l4Length, s);
    int stored = buf.getShort(checksumOffset);
    return ~fold(fold(s) + (~stored & 0xFFFF)) & 0xFFFF;
  }

  /** True when the TCP/UDP segment's checksum verifies (a UDP checksum of 0 means "none" and passes). */
  public static boolean l4Valid(PacketBuffer buf, int l3, int l4, int l4Length, int protocol) {
    if (protocol == Ipv4.PROTO_UDP && buf.getShort(l4 + Udp.CHECKSUM) == 0) {
      return true;
    }
    int s = sum(buf, l4, l4Length, pseudoHeaderSum(buf, l3, l4Length, protocol));
    return fold(s) == 0xFFFF;
  }

  /**
   * The running sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer packet of {@code length}
   * bytes: both addresses, the length and the next header.
   */
  public static int ipv6PseudoHeaderSum(PacketBuffer buf, int l3, int length, int nextHeader) {
    long s = Integer.toUnsignedLong(sum(buf, l3 + Ipv6.SRC, 32, 0));
    s += length + nextHeader;
    return (int) ((s & 0xFFFFFFFFL) + (s >>> 32));
  }

  /** True when the IPv6 TCP/UDP/ICMPv6 message at {@code l4} ({@code length} bytes) verifies against its pseudo-header. */
  public static boolean ipv6L4Valid(PacketBuffer buf, int l3, int l4, int length, int nextHeader) {
    return fold(sum(buf, l4, length, ipv6PseudoHeaderSum(buf, l3, length, nextHeader))) == 0xFFFF;
  }

  private static int pseudoHeaderSum(PacketBuffer buf, int l3, int l4Length, int protocol) {
    long s = Integer.toUnsignedLong(sum(buf, l3 + Ipv4.SRC, 8, 0));
    s += protocol + l4Length;
    return (int) ((s & 0xFFFFFFFFL) + (s >>> 32));
  }

  /** RFC 1624 eqn. 3: the checksum after one 16-bit word changed from {@code oldWord} to {@code newWord}. */
  public static int update16(int checksum, int oldWord, int newWord) {
    int s = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
    s = (s & 0xFFFF) + (s >>> 16);
    s = (s & 0xFFFF) + (s >>> 16);
    return ~s & 0xFFFF;
  }

  /** The checksum after one 32-bit value (an address) changed. */
  public static int update32(int checksum, int oldValue, int newValue) {
    int s = (~checksum & 0xFFFF)
        + (~oldValue >>> 16) + (~oldValue & 0xFFFF)
        + (newValue >>> 16) + (newValue & 0xFFFF);
    s = (s & 0xFFFF) + (s >>> 16);
    s = (s & 0xFFFF) + (s >>> 16);
    return ~s & 0xFFFF;
  }
}
