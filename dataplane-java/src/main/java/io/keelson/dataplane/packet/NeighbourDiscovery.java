package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * ICMPv6 as the gateway speaks it (RFC 4443, RFC 4861): Neighbor Advertisements written in place over the
 * Solicitation they answer (or, for a duplicate address detection probe, to all nodes), Solicitations it originates to resolve a next hop, echo replies, and the
 * checksum over the IPv6 pseudo-header. None of this is on the forwarding path: it runs per NDP or echo packet.
 *
 * <pre>
 *  ICMPv6 at l4: | type | code | checksum | reserved or NA flags (4) | target address (16) | options: type, length/8, MAC
 * </pre>
 *
 * <p>Threading: stateless.
 */
final class NeighbourDiscovery {
  static final int ECHO_REQUEST = 128;
  static final int ECHO_REPLY = 129;
  static final int NEIGHBOR_SOLICITATION = 135;
  static final int NEIGHBOR_ADVERTISEMENT = 136;

  static final int FLAGS = 4;
  static final int TARGET = 8;
  static final int OPTIONS = 24;
  static final int OPTION_SOURCE_MAC = 1;
  static final int OPTION_TARGET_MAC = 2;
  static final int SOLICITED = 0x40;
  static final int OVERRIDE = 0x20;
  /** NDP packets must arrive with hop limit 255 (proof they were not forwarded). */
  static final int NDP_HOP_LIMIT = 255;
  static final int ECHO_REPLY_HOP_LIMIT = 64;
  /** An NS or NA with one link-layer address option: 24 + 8 bytes. */
  static final int MESSAGE_WITH_MAC = OPTIONS + 8;
  /** A Solicitation frame: Ethernet, IPv6, NS with our MAC. */
  static final int SOLICITATION_FRAME = Ethernet.HEADER_LENGTH + Ipv6.HEADER_LENGTH + MESSAGE_WITH_MAC;

  private NeighbourDiscovery() {}

  /**
   * The link-layer address option of {@code optionType} in the NDP message at {@code l4} (up to {@code end}),
   * 0 when absent, or -1 when the options are malformed (a zero length, or one beyond the message).
   */
  static long linkLayerOption(PacketBuffer buf, int l4, int end, int optionType) {
    long found = 0;
    for (int o = l4 + OPTIONS; o < end; ) {
      if (o + 2 > end) {
        return -1;
      }
      int length = buf.getByte(o + 1) * 8;
      if (length == 0 || o + length > end) {
        return -1;
      }
      if (buf.getByte(o) == optionType && length == 8) {
        found = buf.getMac(o + 2);
      }
      o += length;
    }
    return found;
  }

  /**
   * Turns a Solicitation for {@code target} into our Advertisement (solicited, override, with our MAC),
   * sent back to the solicitor's address and MAC. The frame becomes exactly an NA with one option.
   */
  static void advertise(PacketBuffer buf, int l3, int l4, long ourMac, long solicitorMac) {
    advertise(buf, l3, l4, ourMac, solicitorMac, buf.getLong(l3 + Ipv6.SRC), buf.getLong(l3 + Ipv6.SRC + 8),
        SOLICITED | OVERRIDE);
  }

  /**
   * Turns a duplicate address detection probe (a Solicitation from ::) for {@code target} into RFC 4861
   * §7.2.4's defence: an Advertisement to all nodes (ff02::1, MAC 33:33:00:00:00:01), override but not
   * solicited, with our MAC.
   */
  static void defend(PacketBuffer buf, int l3, int l4, long ourMac) {
    advertise(buf, l3, l4, ourMac, Ipv6.multicastMac(ALL_NODES_LO), Ipv6.SOLICITED_NODE_HI, ALL_NODES_LO, OVERRIDE);
  }

  /** ff02::1 (all nodes on the link), low half; the high half is {@link Ipv6#SOLICITED_NODE_HI}. */
  static final long ALL_NODES_LO = 1;

  private static void advertise(PacketBuffer buf, int l3, int l4, long ourMac, long dstMac, long dstHi, long dstLo,
      int flags) {
    long targetHi = buf.getLong(l4 + TARGET);
    long targetLo = buf.getLong(l4 + TARGET + 8);
    buf.putMac(Ethernet.DST, dstMac);
    buf.putMac(Ethernet.SRC, ourMac);
    buf.putShort(l3 + Ipv6.PAYLOAD_LENGTH, l4 - l3 - Ipv6.HEADER_LENGTH + MESSAGE_WITH_MAC);
    buf.putByte(l3 + Ipv6.HOP_LIMIT, NDP_HOP_LIMIT);
    writeAddresses(buf, l3, targetHi, targetLo, dstHi, dstLo);
    buf.putInt(l4, NEIGHBOR_ADVERTISEMENT << 24);
    buf.putInt(l4 + FLAGS, flags << 24);
    buf.putLong(l4 + TARGET, targetHi);
    buf.putLong(l4 + TARGET + 8, targetLo);
    buf.putShort(l4 + OPTIONS, OPTION_TARGET_MAC << 8 | 1);
    buf.putMac(l4 + OPTIONS + 2, ourMac);
    buf.length(l4 + MESSAGE_WITH_MAC);
    buf.putShort(l4 + Icmp.CHECKSUM, checksum(buf, l3, l4, MESSAGE_WITH_MAC));
  }

  /** Writes a multicast Solicitation for {@code target} from our address and MAC into a {@link #SOLICITATION_FRAME}-byte frame. */
  static void solicit(PacketBuffer frame, long ourMac, long ourHi, long ourLo, long targetHi, long targetLo) {
    long groupLo = Ipv6.solicitedNodeLo(targetLo);
    frame.putMac(Ethernet.DST, Ipv6.multicastMac(groupLo));
    frame.putMac(Ethernet.SRC, ourMac);
    frame.putShort(Ethernet.TYPE, Ethernet.TYPE_IPV6);
    int l3 = Ethernet.HEADER_LENGTH;
    frame.putInt(l3, 6 << 28);
    frame.putShort(l3 + Ipv6.PAYLOAD_LENGTH, MESSAGE_WITH_MAC);
    frame.putByte(l3 + Ipv6.NEXT_HEADER, Ipv6.PROTO_ICMPV6);
    frame.putByte(l3 + Ipv6.HOP_LIMIT, NDP_HOP_LIMIT);
    writeAddresses(frame, l3, ourHi, ourLo, Ipv6.SOLICITED_NODE_HI, groupLo);
    int l4 = l3 + Ipv6.HEADER_LENGTH;
    frame.putInt(l4, NEIGHBOR_SOLICITATION << 24);
    frame.putInt(l4 + FLAGS, 0);
    frame.putLong(l4 + TARGET, targetHi);
    frame.putLong(l4 + TARGET + 8, targetLo);
    frame.putShort(l4 + OPTIONS, OPTION_SOURCE_MAC << 8 | 1);
    frame.putMac(l4 + OPTIONS + 2, ourMac);
    frame.putShort(l4 + Icmp.CHECKSUM, checksum(frame, l3, l4, MESSAGE_WITH_MAC));
  }

  /** Turns an echo request into its reply: addresses and MACs swapped, type 129, hop limit reset; checksum updated. */
  static void echoReply(PacketBuffer buf, int l3, int l4, long ourMac) {
    long peerMac = buf.getMac(Ethernet.SRC);
    buf.putMac(Ethernet.DST, peerMac);
    buf.putMac(Ethernet.SRC, ourMac);
    long srcHi = buf.getLong(l3 + Ipv6.SRC);
    long srcLo = buf.getLong(l3 + Ipv6.SRC + 8);
    writeAddresses(buf, l3, buf.getLong(l3 + Ipv6.DST), buf.getLong(l3 + Ipv6.DST + 8), srcHi, srcLo);
    buf.putByte(l3 + Ipv6.HOP_LIMIT, ECHO_REPLY_HOP_LIMIT);
    int oldTypeCode = buf.getShort(l4 + Icmp.TYPE);
    int newTypeCode = (ECHO_REPLY << 8) | (oldTypeCode & 0xFF);
    buf.putShort(l4 + Icmp.TYPE, newTypeCode);
    buf.putShort(l4 + Icmp.CHECKSUM, Checksums.update16(buf.getShort(l4 + Icmp.CHECKSUM), oldTypeCode, newTypeCode));
  }

  /** The ICMPv6 checksum to write for the {@code length}-byte message at {@code l4}, computed with its field as zero. */
  static int checksum(PacketBuffer buf, int l3, int l4, int length) {
    buf.putShort(l4 + Icmp.CHECKSUM, 0);
    return ~Checksums.fold(Checksums.sum(buf, l4, length, Checksums.ipv6PseudoHeaderSum(buf, l3, length, Ipv6.PROTO_ICMPV6)))
        & 0xFFFF;
  }

  private static void writeAddresses(PacketBuffer buf, int l3, long srcHi, long srcLo, long dstHi, long dstLo) {
    buf.putLong(l3 + Ipv6.SRC, srcHi);
    buf.putLong(l3 + Ipv6.SRC + 8, srcLo);
    buf.putLong(l3 + Ipv6.DST, dstHi);
    buf.putLong(l3 + Ipv6.DST + 8, dstLo);
  }
}
