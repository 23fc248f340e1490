package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * Validates one frame's Ethernet, ARP, IPv4 and L4 headers (IPv6: {@link Ipv6Parser}) and records what the later stages need
 * into the burst's metadata arrays. Every malformed shape maps to one {@link DropReason}; nothing
 * here throws on bad input: every read is bounds-checked against the packet length first.
 *
 * <p>L4 checksums are not verified on the way in (the endpoints do, and incremental updates keep a
 * bad checksum bad); the IPv4 header checksum is, because the gateway rewrites that header.
 *
 * <p>Threading: stateless.
 */
final class PacketParser {
  private PacketParser() {}

  /** Parses packet {@code i} of {@code burst}; null when it is well formed, else why it is not. */
  static DropReason parse(PacketBurst burst, int i, long rxMac) {
    PacketBuffer buf = burst.packet(i);
    int len = buf.length();
    if (len < Ethernet.HEADER_LENGTH) {
      return DropReason.TRUNCATED_ETHERNET;
    }
    long dstMac = buf.getLong(Ethernet.DST) >>> 16; // the first 6 of 8 bytes (14 are there)
    if (dstMac != rxMac && dstMac != Ethernet.BROADCAST && !Ipv6Parser.isMulticastFrame(buf, dstMac, len)) {
      return DropReason.NOT_OUR_MAC;
    }
    int type = buf.getShort(Ethernet.TYPE);
    int l3 = Ethernet.HEADER_LENGTH;
    if (type == Ethernet.TYPE_VLAN) {
      if (len < Ethernet.VLAN_HEADER_LENGTH) {
        return DropReason.TRUNCATED_ETHERNET;
      }
      type = buf.getShort(Ethernet.TYPE + 4);
      l3 = Ethernet.VLAN_HEADER_LENGTH;
    }
    burst.l3[i] = l3;
    if (type == Ethernet.TYPE_ARP) {
      return parseArp(buf, burst, i, l3, len);
    }
    if (type == Ethernet.TYPE_IPV6) {
      return Ipv6Parser.parse(buf, burst, i, l3, len, dstMac == rxMac);
    }
    if (type != Ethernet.TYPE_IPV4) {
      return DropReason.UNKNOWN_ETHERTYPE;
    }
    if (dstMac != rxMac) {
      return DropReason.NOT_OUR_MAC; // the gateway takes no IPv4 broadcast (nor IPv6 multicast MACs)
    }
    return parseIpv4(buf, burst, i, l3, len);
  }

  private static DropReason parseArp(PacketBuffer buf, PacketBurst burst, int i, int l3, int len) {
    if (len < l3 + Arp.LENGTH) {
      return DropReason.TRUNCATED_ARP;
    }
    int op = buf.getShort(l3 + Arp.OPER);
    if (buf.getShort(l3 + Arp.HTYPE) != Arp.HTYPE_ETHERNET
        || buf.getShort(l3 + Arp.PTYPE) != Ethernet.TYPE_IPV4
        || buf.getByte(l3 + Arp.HLEN) != 6
        || buf.getByte(l3 + Arp.PLEN) != 4
        || (op != Arp.OP_REQUEST && op != Arp.OP_REPLY)) {
      return DropReason.MALFORMED_ARP;
    }
    burst.kind[i] = PacketBurst.KIND_ARP;
    burst.flags[i] = op;
    burst.srcIp[i] = buf.getInt(l3 + Arp.SPA);
    burst.dstIp[i] = buf.getInt(l3 + Arp.TPA);
    return null;
  }

  private static DropReason parseIpv4(PacketBuffer buf, PacketBurst burst, int i, int l3, int len) {
    if (len < l3 + Ipv4.MIN_HEADER_LENGTH) {
      return DropReason.TRUNCATED_IPV4;
    }
    // The fixed header as two longs and an int: each field is read once, and the same words verify
    // the checksum (profiling showed a separate checksum pass was most of the parse cost).
    long head = buf.getLong(l3); // version, IHL, TOS, total length | identification, flags, fragment offset
    int word0 = (int) (head >>> 32);
    if ((word0 >>> 28) != 4) {
      return DropReason.BAD_IP_VERSION;
    }
    int headerLength = ((word0 >>> 24) & 0x0F) * 4;
    if (headerLength < Ipv4.MIN_HEADER_LENGTH || l3 + headerLength > len) {
      return DropReason.BAD_IHL;
    }
    int totalLength = word0 & 0xFFFF;
    if (totalLength < headerLength || l3 + totalLength > len) {
      return DropReason.BAD_TOTAL_LENGTH;
    }
    long middle = buf.getLong(l3 + Ipv4.TTL); // TTL, protocol, checksum | source
    int word1 = (int) head;
    int word2 = (int) (middle >>> 32);
    int src = (int) middle;
    int dst = buf.getInt(l3 + Ipv4.DST);
    long sum = (head >>> 32) + (head & 0xFFFF_FFFFL) + (middle >>> 32) + (middle & 0xFFFF_FFFFL)
        + Integer.toUnsignedLong(dst);
    if (headerLength > Ipv4.MIN_HEADER_LENGTH) {
      sum += Integer.toUnsignedLong(Checksums.sum(buf, l3 + Ipv4.MIN_HEADER_LENGTH,
          headerLength - Ipv4.MIN_HEADER_LENGTH, 0));
    }
    if (!Checksums.foldsToAllOnes(sum)) {
      return DropReason.BAD_IP_CHECKSUM;
    }
    if ((word1 & Ipv4.MF_OR_OFFSET) != 0) {
      return DropReason.FRAGMENT;
    }
    if ((word2 >>> 24) == 0) {
      return DropReason.TTL_EXPIRED;
    }
    int protocol = (word2 >>> 16) & 0xFF;
    int l4 = l3 + headerLength;
    int l4Length = totalLength - headerLength;
    int ports = 0;
    int flags = 0;
    switch (protocol) {
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
      case Ipv4.PROTO_ICMP -> {
        if (l4Length < Icmp.HEADER_LENGTH) {
          return DropReason.TRUNCATED_ICMP;
        }
        flags = buf.getByte(l4 + Icmp.TYPE);
      }
      default -> {
        // Other protocols parse fine; the classifier decides (exception path or drop).
      }
    }
    // Each field is stored once, after the packet proved well formed (a dropped packet's fields are unread).
    burst.kind[i] = PacketBurst.KIND_IPV4;
    burst.protocol[i] = protocol;
    burst.srcIp[i] = src;
    burst.dstIp[i] = dst;
    burst.l4[i] = l4;
    burst.srcPort[i] = ports >>> 16;
    burst.dstPort[i] = ports & 0xFFFF;
    burst.flags[i] = flags;
    return null;
  }
}
