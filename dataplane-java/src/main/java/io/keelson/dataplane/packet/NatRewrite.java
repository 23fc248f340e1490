package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * In-place header rewrites for full-NAT: addresses, ports, TTL and MACs, with the IPv4 and TCP/UDP
 * checksums updated incrementally (RFC 1624) rather than recomputed over the payload.
 *
 * <p>The address change enters both checksums (TCP/UDP cover it through the pseudo-header), so its
 * one's-complement delta is computed once and applied to both.
 *
 * <p>Threading: stateless.
 */
final class NatRewrite {
  private NatRewrite() {}

  /** Rewrites source/destination address and port of a TCP or UDP packet, fixing both checksums. */
  static void rewrite(PacketBuffer buf, int l3, int l4, int protocol,
      int newSrcIp, int newDstIp, int newSrcPort, int newDstPort) {
    rewrite(buf, l3, l4, protocol, newSrcIp, newDstIp, newSrcPort, newDstPort, false);
  }

  /** {@link #rewrite} and TTL − 1 with one IPv4 checksum update: the forwarding path. */
  static void forward(PacketBuffer buf, int l3, int l4, int protocol,
      int newSrcIp, int newDstIp, int newSrcPort, int newDstPort) {
    rewrite(buf, l3, l4, protocol, newSrcIp, newDstIp, newSrcPort, newDstPort, true);
  }

  private static void rewrite(PacketBuffer buf, int l3, int l4, int protocol,
      int newSrcIp, int newDstIp, int newSrcPort, int newDstPort, boolean decrementTtl) {
    int addressDelta = addressDelta(buf.getInt(l3 + Ipv4.SRC), buf.getInt(l3 + Ipv4.DST), newSrcIp, newDstIp);
    int oldPorts = buf.getInt(l4);
    int l4Delta = addressDelta + portDelta(oldPorts >>> 16, oldPorts & 0xFFFF, newSrcPort, newDstPort);
    int ttlWord = buf.getInt(l3 + Ipv4.TTL); // TTL, protocol, checksum
    if (decrementTtl) {
      forward(buf, l3, l4, protocol, ttlWord, newSrcIp, newDstIp, newSrcPort << 16 | newDstPort,
          addressDelta + TTL_DECREMENT_DELTA, l4Delta);
    } else {
      write(buf, l3, l4, protocol, ttlWord, newSrcIp, newDstIp, newSrcPort << 16 | newDstPort, addressDelta, l4Delta);
    }
  }

  /**
   * The one's-complement delta that TTL − 1 adds to the IPv4 checksum, whatever the TTL: the (TTL, protocol)
   * word w becomes w − 0x0100, and ~w + (w − 0x0100) = 0xFFFF − 0x0100.
   */
  static final int TTL_DECREMENT_DELTA = 0xFEFF;

  /** The one's-complement delta (RFC 1624) of changing the addresses: it enters the IPv4 and the TCP/UDP checksum. */
  static int addressDelta(int oldSrc, int oldDst, int newSrc, int newDst) {
    return (~oldSrc >>> 16) + (~oldSrc & 0xFFFF) + (newSrc >>> 16) + (newSrc & 0xFFFF)
        + (~oldDst >>> 16) + (~oldDst & 0xFFFF) + (newDst >>> 16) + (newDst & 0xFFFF);
  }

  /** The one's-complement delta of changing the ports (TCP/UDP checksum only). */
  static int portDelta(int oldSport, int oldDport, int newSport, int newDport) {
    return (~oldSport & 0xFFFF) + newSport + (~oldDport & 0xFFFF) + newDport;
  }

  /**
   * {@link #forward} with its inputs precomputed for a flow: {@code ttlWord} is the packet's 32-bit word
   * at the TTL (TTL, protocol, checksum), {@code ipDelta} the {@link #addressDelta} plus
   * {@link #TTL_DECREMENT_DELTA}, {@code l4Delta} the {@link #addressDelta} plus the {@link #portDelta}.
   * Writes the same bytes as {@link #forward} for a packet whose old addresses and ports the deltas were taken from.
   */
  static void forward(PacketBuffer buf, int l3, int l4, int protocol, int ttlWord,
      int newSrcIp, int newDstIp, int newPorts, int ipDelta, int l4Delta) {
    write(buf, l3, l4, protocol, ttlWord - 0x0100_0000, newSrcIp, newDstIp, newPorts, ipDelta, l4Delta);
  }

  /**
   * Writes the new TTL word (with the IPv4 checksum updated by {@code ipDelta}), addresses, ports and L4
   * checksum. The TTL word and the source address are one 8-byte write, and so are the destination and
   * the ports when no IPv4 options sit between them (the common case): three writes where there were five.
   */
  private static void write(PacketBuffer buf, int l3, int l4, int protocol, int ttlWord,
      int newSrcIp, int newDstIp, int newPorts, int ipDelta, int l4Delta) {
    int newTtlWord = (ttlWord & 0xFFFF_0000) | apply(ttlWord & 0xFFFF, ipDelta);
    buf.putLong(l3 + Ipv4.TTL, (long) newTtlWord << 32 | Integer.toUnsignedLong(newSrcIp));
    if (l4 == l3 + Ipv4.MIN_HEADER_LENGTH) {
      buf.putLong(l3 + Ipv4.DST, (long) newDstIp << 32 | Integer.toUnsignedLong(newPorts));
    } else {
      buf.putInt(l3 + Ipv4.DST, newDstIp);
      buf.putInt(l4, newPorts);
    }
    applyL4(buf, l4, protocol, l4Delta);
  }

  /** Adds {@code delta} to the TCP or UDP checksum at {@code l4} (a UDP checksum of zero, "none", stays zero). */
  static void applyL4(PacketBuffer buf, int l4, int protocol, int delta) {
    boolean tcp = protocol == Ipv4.PROTO_TCP;
    int checksumOffset = l4 + (tcp ? Tcp.CHECKSUM : Udp.CHECKSUM);
    int l4Checksum = buf.getShort(checksumOffset);
    if (!tcp && l4Checksum == 0) {
      return; // UDP without a checksum stays without one
    }
    int updated = apply(l4Checksum, delta);
    if (!tcp && updated == 0) {
      updated = 0xFFFF; // RFC 768: a computed zero is sent as all ones
    }
    buf.putShort(checksumOffset, updated);
  }

  /** TTL minus one, IPv4 checksum updated (the TTL shares a 16-bit word with the protocol). */
  static void decrementTtl(PacketBuffer buf, int l3) {
    int oldWord = buf.getShort(l3 + Ipv4.TTL);
    int newWord = oldWord - 0x0100;
    buf.putByte(l3 + Ipv4.TTL, newWord >>> 8);
    buf.putShort(l3 + Ipv4.CHECKSUM, Checksums.update16(buf.getShort(l3 + Ipv4.CHECKSUM), oldWord, newWord));
  }

  /** Both MACs as an 8-byte and a 4-byte store (the 12 bytes are contiguous). */
  static void setMacs(PacketBuffer buf, long srcMac, long dstMac) {
    buf.putLong(0, dstMac << 16 | srcMac >>> 32);
    buf.putInt(8, (int) srcMac);
  }

  /** {@code ~(~checksum + delta)} with end-around carries: RFC 1624 eqn. 3 over several words. */
  private static int apply(int checksum, int delta) {
    int s = (~checksum & 0xFFFF) + delta;
    s = (s & 0xFFFF) + (s >>> 16);
    s = (s & 0xFFFF) + (s >>> 16);
    return ~s & 0xFFFF;
  }
}
