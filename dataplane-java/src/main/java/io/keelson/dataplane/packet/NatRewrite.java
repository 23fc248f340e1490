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
    int oldSrcIp = buf.getInt(l3 + Ipv4.SRC);
    int oldDstIp = buf.getInt(l3 + Ipv4.DST);
    int addressDelta = (~oldSrcIp >>> 16) + (~oldSrcIp & 0xFFFF) + (newSrcIp >>> 16) + (newSrcIp & 0xFFFF)
        + (~oldDstIp >>> 16) + (~oldDstIp & 0xFFFF) + (newDstIp >>> 16) + (newDstIp & 0xFFFF);

    int ttlWord = buf.getInt(l3 + Ipv4.TTL); // TTL, protocol, checksum
    int ipDelta = addressDelta;
    if (decrementTtl) {
      // The TTL byte drops by one: its 16-bit word (TTL, protocol) by 0x0100.
      ipDelta += (~(ttlWord >>> 16) & 0xFFFF) + ((ttlWord >>> 16) - 0x0100);
      ttlWord -= 0x0100_0000;
    }
    buf.putInt(l3 + Ipv4.TTL, (ttlWord & 0xFFFF_0000) | apply(ttlWord & 0xFFFF, ipDelta));
    buf.putInt(l3 + Ipv4.SRC, newSrcIp);
    buf.putInt(l3 + Ipv4.DST, newDstIp);

    boolean tcp = protocol == Ipv4.PROTO_TCP;
    int checksumOffset = l4 + (tcp ? Tcp.CHECKSUM : Udp.CHECKSUM);
    int oldPorts = buf.getInt(l4);
    int oldSrcPort = oldPorts >>> 16;
    int oldDstPort = oldPorts & 0xFFFF;
    buf.putInt(l4, (newSrcPort << 16) | newDstPort);
    int l4Checksum = buf.getShort(checksumOffset);
    if (!tcp && l4Checksum == 0) {
      return; // UDP without a checksum stays without one
    }
    int portDelta = (~oldSrcPort & 0xFFFF) + newSrcPort + (~oldDstPort & 0xFFFF) + newDstPort;
    int updated = apply(l4Checksum, addressDelta + portDelta);
    if (!tcp && updated == 0) {
      updated = 0xFFFF; // RFC 768: a computed zero is sent as all ones
    }
    buf.putShort(checksumOffset, updated);
  }

  /**
   * {@link #forward} with its inputs precomputed for a flow: {@code ttlWord} is the packet's 32-bit word
   * at the TTL (TTL, protocol, checksum), {@code ipDelta} the one's-complement sum of the address changes
   * plus 0xFEFF (TTL − 1), {@code l4Delta} that of the address and port changes. Writes the same bytes as
   * {@link #forward} for a packet whose old addresses and ports the deltas were taken from.
   */
  static void forward(PacketBuffer buf, int l3, int l4, int protocol, int ttlWord,
      int newSrcIp, int newDstIp, int newPorts, int ipDelta, int l4Delta) {
    buf.putInt(l3 + Ipv4.TTL, ((ttlWord - 0x0100_0000) & 0xFFFF_0000) | apply(ttlWord & 0xFFFF, ipDelta));
    buf.putInt(l3 + Ipv4.SRC, newSrcIp);
    buf.putInt(l3 + Ipv4.DST, newDstIp);
    buf.putInt(l4, newPorts);
    boolean tcp = protocol == Ipv4.PROTO_TCP;
    int checksumOffset = l4 + (tcp ? Tcp.CHECKSUM : Udp.CHECKSUM);
    int l4Checksum = buf.getShort(checksumOffset);
    if (!tcp && l4Checksum == 0) {
      return; // UDP without a checksum stays without one
    }
    int updated = apply(l4Checksum, l4Delta);
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

  /** Both MACs as three 32-bit stores (the 12 bytes are contiguous). */
  static void setMacs(PacketBuffer buf, long srcMac, long dstMac) {
    buf.putInt(0, (int) (dstMac >>> 16));
    buf.putInt(4, (int) (dstMac << 16) | (int) (srcMac >>> 32));
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
