package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * In-place NAT66 rewrite of a TCP or UDP packet: addresses, ports and hop limit − 1, with the TCP/UDP
 * checksum updated incrementally (RFC 1624) for the pseudo-header's addresses and the ports. IPv6 has no
 * header checksum, and the hop limit is not in the pseudo-header, so that is the only checksum to fix.
 *
 * <p>Threading: stateless.
 */
final class Nat66Rewrite {
  private Nat66Rewrite() {}

  static void forward(PacketBuffer buf, int l3, int l4, int protocol,
      long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort) {
    int delta = complementWords(buf.getLong(l3 + Ipv6.SRC)) + complementWords(buf.getLong(l3 + Ipv6.SRC + 8))
        + complementWords(buf.getLong(l3 + Ipv6.DST)) + complementWords(buf.getLong(l3 + Ipv6.DST + 8))
        + words(srcHi) + words(srcLo) + words(dstHi) + words(dstLo);
    int oldPorts = buf.getInt(l4);
    delta += NatRewrite.portDelta(oldPorts >>> 16, oldPorts & 0xFFFF, srcPort, dstPort);
    buf.putLong(l3 + Ipv6.SRC, srcHi);
    buf.putLong(l3 + Ipv6.SRC + 8, srcLo);
    buf.putLong(l3 + Ipv6.DST, dstHi);
    buf.putLong(l3 + Ipv6.DST + 8, dstLo);
    buf.putInt(l4, srcPort << 16 | dstPort);
    buf.putByte(l3 + Ipv6.HOP_LIMIT, buf.getByte(l3 + Ipv6.HOP_LIMIT) - 1);
    NatRewrite.applyL4(buf, l4, protocol, delta);
  }

  /** The sum of a long's four 16-bit words. */
  static int words(long v) {
    return (int) ((v >>> 48) + ((v >>> 32) & 0xFFFF) + ((v >>> 16) & 0xFFFF) + (v & 0xFFFF));
  }

  /** The sum of the one's complements of a long's four 16-bit words (what removing it from a checksum adds). */
  static int complementWords(long v) {
    return words(~v);
  }
}
