package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * Validates an IPv6 packet (RFC 8200) and its TCP, UDP or ICMPv6 header into the burst's IPv6 metadata;
 * {@link PacketParser} branches here where IPv6 was dropped before, so the IPv4 path is unchanged.
 * Hop-by-hop (first only), routing (with no segments left) and destination-options headers are skipped
 * within the payload; a fragment header drops the packet ({@link DropReason#FRAGMENT}); every malformed
 * shape maps to one {@link DropReason}, every read is bounds-checked first.
 *
 * <p>Threading: stateless.
 */
final class Ipv6Parser {
  private Ipv6Parser() {}

  /**
   * True when a frame whose MAC is neither ours nor broadcast is IPv6 to a 33:33 multicast MAC (Neighbor
   * Solicitations arrive so): read only on the NOT_OUR_MAC path, so matched frames pay nothing.
   */
  static boolean isMulticastFrame(PacketBuffer buf, long dstMac, int len) {
    return Ipv6.isMulticastMac(dstMac) && len >= Ethernet.HEADER_LENGTH
        && buf.getShort(Ethernet.TYPE) == Ethernet.TYPE_IPV6;
  }

  /**
   * Parses the IPv6 packet at {@code l3}; null when well formed (kind {@link PacketBurst#KIND_IPV6}).
   *
   * @param unicastMac whether the frame was sent to the port's own MAC (else only a solicitation to a
   *     multicast group is taken)
   */
  static DropReason parse(PacketBuffer buf, PacketBurst burst, int i, int l3, int len, boolean unicastMac) {
    if (len < l3 + Ipv6.HEADER_LENGTH) {
      return DropReason.TRUNCATED_IPV6;
    }
    if ((buf.getByte(l3) >>> 4) != 6) {
      return DropReason.BAD_IP_VERSION;
    }
    int payloadLength = buf.getShort(l3 + Ipv6.PAYLOAD_LENGTH);
    int end = l3 + Ipv6.HEADER_LENGTH + payloadLength;
    if (payloadLength == 0 || end > len) {
      return DropReason.BAD_IPV6_PAYLOAD_LENGTH;
    }
    long dstHi = buf.getLong(l3 + Ipv6.DST);
    boolean multicast = (dstHi >>> 56) == 0xFF;
    if (multicast == unicastMac) {
      return DropReason.NOT_OUR_MAC; // a group address in a unicast frame, or a unicast address to a group or broadcast MAC
    }
    int next = buf.getByte(l3 + Ipv6.NEXT_HEADER);
    int l4 = l3 + Ipv6.HEADER_LENGTH;
    for (int headers = 0; ; headers++) {
      if (next == Ipv6.FRAGMENT) {
        return DropReason.FRAGMENT;
      }
      if (next != Ipv6.HOP_BY_HOP && next != Ipv6.ROUTING && next != Ipv6.DESTINATION_OPTIONS) {
        break;
      }
      if (headers == Ipv6.MAX_EXTENSION_HEADERS || (next == Ipv6.HOP_BY_HOP && headers > 0) || l4 + 8 > end) {
        return DropReason.BAD_IPV6_EXTENSION;
      }
      int extensionLength = (buf.getByte(l4 + 1) + 1) * 8;
      if (l4 + extensionLength > end || (next == Ipv6.ROUTING && buf.getByte(l4 + 3) != 0)) {
        return DropReason.BAD_IPV6_EXTENSION; // beyond the payload, or a routing header that still has segments to visit
      }
      next = buf.getByte(l4);
      l4 += extensionLength;
    }
    if (buf.getByte(l3 + Ipv6.HOP_LIMIT) == 0) {
      return DropReason.TTL_EXPIRED;
    }
    int l4Length = end - l4;
    int ports = 0;
    int flags = 0;
    switch (next) {
      case Ipv4.PROTO_TCP -> {
        if (l4Length < Tcp.MIN_HEADER_LENGTH) {
          return DropReason.TRUNCATED_TCP;
        }
        int offsetAndFlags = buf.getShort(l4 + Tcp.DATA_OFFSET);
        int dataOffset = (offsetAndFlags >>> 12) * 4;
        if (dataOffset < Tcp.MIN_HEADER_LENGTH || dataOffset > l4Length) {
          return DropReason.BAD_TCP_OFFSET;
        }
        ports = buf.getInt(l4 + Tcp.SRC_PORT);
        flags = offsetAndFlags & 0xFF;
      }
      case Ipv4.PROTO_UDP -> {
        if (l4Length < Udp.HEADER_LENGTH) {
          return DropReason.TRUNCATED_UDP;
        }
        int udpLength = buf.getShort(l4 + Udp.LENGTH);
        if (udpLength < Udp.HEADER_LENGTH || udpLength > l4Length) {
          return DropReason.BAD_UDP_LENGTH;
        }
        ports = buf.getInt(l4 + Udp.SRC_PORT);
      }
      case Ipv6.PROTO_ICMPV6 -> {
        if (l4Length < Icmp.HEADER_LENGTH) {
          return DropReason.TRUNCATED_ICMP;
        }
        flags = buf.getByte(l4 + Icmp.TYPE);
      }
      default -> {
        // Other protocols parse fine; the IPv6 forwarder decides (exception path or drop).
      }
    }
    if (multicast && (next != Ipv6.PROTO_ICMPV6 || flags != NeighbourDiscovery.NEIGHBOR_SOLICITATION)) {
      return DropReason.NOT_OUR_MAC; // the only group traffic the gateway takes: solicitations for its addresses
    }
    burst.kind[i] = PacketBurst.KIND_IPV6;
    burst.protocol[i] = next;
    burst.srcHi6[i] = buf.getLong(l3 + Ipv6.SRC);
    burst.srcLo6[i] = buf.getLong(l3 + Ipv6.SRC + 8);
    burst.dstHi6[i] = dstHi;
    burst.dstLo6[i] = buf.getLong(l3 + Ipv6.DST + 8);
    burst.l4[i] = l4;
    burst.srcPort[i] = ports >>> 16;
    burst.dstPort[i] = ports & 0xFFFF;
    burst.flags[i] = flags;
    return null;
  }
}
