package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.nio.ByteBuffer;

/** Builds real frames in byte arrays (valid checksums unless told otherwise) for the packet tests. */
final class TestPacket {
  static final long CLIENT_MAC = 0x02_00_00_00_0C_01L;
  static final long GW_MAC_0 = 0x02_00_00_00_00_10L;
  static final long GW_MAC_1 = 0x02_00_00_00_00_11L;

  private long srcMac = CLIENT_MAC;
  private long dstMac = GW_MAC_0;
  private int vlan = -1;
  private int srcIp;
  private int dstIp;
  private int ttl = 64;
  private int protocol = Ipv4.PROTO_TCP;
  private int srcPort;
  private int dstPort;
  private int tcpFlags = Tcp.SYN;
  private int icmpType = Icmp.ECHO_REQUEST;
  private int payload;
  private int ipId = 0x1234;

  static TestPacket tcp(String src, int sport, String dst, int dport, int flags) {
    TestPacket p = new TestPacket();
    p.srcIp = Ipv4.parse(src);
    p.dstIp = Ipv4.parse(dst);
    p.srcPort = sport;
    p.dstPort = dport;
    p.tcpFlags = flags;
    return p;
  }

  static TestPacket udp(String src, int sport, String dst, int dport) {
    TestPacket p = tcp(src, sport, dst, dport, 0);
    p.protocol = Ipv4.PROTO_UDP;
    return p;
  }

  static TestPacket icmpEcho(String src, String dst) {
    TestPacket p = tcp(src, 0, dst, 0, 0);
    p.protocol = Ipv4.PROTO_ICMP;
    return p;
  }

  static TestPacket ip(String src, String dst, int protocol) {
    TestPacket p = tcp(src, 0, dst, 0, 0);
    p.protocol = protocol;
    return p;
  }

  TestPacket macs(long src, long dst) {
    srcMac = src;
    dstMac = dst;
    return this;
  }

  TestPacket vlan(int id) {
    vlan = id;
    return this;
  }

  TestPacket ttl(int ttl) {
    this.ttl = ttl;
    return this;
  }

  TestPacket payload(int bytes) {
    this.payload = bytes;
    return this;
  }

  TestPacket icmpType(int type) {
    this.icmpType = type;
    return this;
  }

  TestPacket ipId(int id) {
    this.ipId = id;
    return this;
  }

  byte[] bytes() {
    int l4Header = switch (protocol) {
      case Ipv4.PROTO_TCP -> 20;
      case Ipv4.PROTO_UDP -> 8;
      case Ipv4.PROTO_ICMP -> 8;
      default -> 0;
    };
    int l3 = vlan >= 0 ? 18 : 14;
    int ipLength = 20 + l4Header + payload;
    int frameLength = Math.max(Ethernet.MIN_FRAME, l3 + ipLength);
    ByteBuffer b = ByteBuffer.allocate(frameLength);
    putMac(b, dstMac);
    putMac(b, srcMac);
    if (vlan >= 0) {
      b.putShort((short) Ethernet.TYPE_VLAN).putShort((short) vlan);
    }
    b.putShort((short) Ethernet.TYPE_IPV4);
    b.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) ipId).putShort((short) 0x4000);
    b.put((byte) ttl).put((byte) protocol).putShort((short) 0).putInt(srcIp).putInt(dstIp);
    int l4 = l3 + 20;
    switch (protocol) {
      case Ipv4.PROTO_TCP -> b.putShort((short) srcPort).putShort((short) dstPort).putInt(0x1000_0000)
          .putInt(tcpFlags == Tcp.SYN ? 0 : 0x2000_0000).put((byte) 0x50).put((byte) tcpFlags)
          .putShort((short) 64240).putShort((short) 0).putShort((short) 0);
      case Ipv4.PROTO_UDP -> b.putShort((short) srcPort).putShort((short) dstPort)
          .putShort((short) (8 + payload)).putShort((short) 0);
      case Ipv4.PROTO_ICMP -> b.put((byte) icmpType).put((byte) 0).putShort((short) 0)
          .putShort((short) 0x4242).putShort((short) 7);
      default -> {}
    }
    for (int i = 0; i < payload; i++) {
      b.put((byte) (i * 7 + 3));
    }
    byte[] frame = b.array();
    PacketBuffer buf = PacketBuffer.ofBytes(frame, frame.length);
    buf.putShort(l3 + Ipv4.CHECKSUM, Checksums.ipv4Header(buf, l3, 20));
    if (protocol == Ipv4.PROTO_TCP || protocol == Ipv4.PROTO_UDP) {
      int off = protocol == Ipv4.PROTO_TCP ? Tcp.CHECKSUM : Udp.CHECKSUM;
      buf.putShort(l4 + off, Checksums.l4(buf, l3, l4, l4Header + payload, protocol));
    } else if (protocol == Ipv4.PROTO_ICMP) {
      buf.putShort(l4 + Icmp.CHECKSUM, ~Checksums.fold(Checksums.sum(buf, l4, 8 + payload, 0)) & 0xFFFF);
    }
    return frame;
  }

  PacketBuffer buffer() {
    byte[] frame = bytes();
    return PacketBuffer.ofBytes(frame, frame.length);
  }

  static byte[] arp(int op, long senderMac, String senderIp, long targetMac, String targetIp, long ethDst) {
    ByteBuffer b = ByteBuffer.allocate(Ethernet.MIN_FRAME);
    putMac(b, ethDst);
    putMac(b, senderMac);
    b.putShort((short) Ethernet.TYPE_ARP);
    b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) op);
    putMac(b, senderMac);
    b.putInt(Ipv4.parse(senderIp));
    putMac(b, targetMac);
    b.putInt(Ipv4.parse(targetIp));
    return b.array();
  }

  private static void putMac(ByteBuffer b, long mac) {
    b.putShort((short) (mac >>> 32)).putInt((int) mac);
  }

  static PacketBuffer wrap(byte[] frame) {
    return PacketBuffer.ofBytes(frame, frame.length);
  }

  /** Asserts-friendly view: the frame's IPv4 header verifies and its L4 checksum matches a full recomputation. */
  static boolean checksumsValid(PacketBuffer buf, int l3) {
    int ihl = (buf.getByte(l3) & 0xF) * 4;
    if (!Checksums.ipv4HeaderValid(buf, l3, ihl)) {
      return false;
    }
    int protocol = buf.getByte(l3 + Ipv4.PROTOCOL);
    int l4Length = buf.getShort(l3 + Ipv4.TOTAL_LENGTH) - ihl;
    if (protocol == Ipv4.PROTO_TCP || protocol == Ipv4.PROTO_UDP) {
      return Checksums.l4Valid(buf, l3, l3 + ihl, l4Length, protocol);
    }
    if (protocol == Ipv4.PROTO_ICMP) {
      return Checksums.fold(Checksums.sum(buf, l3 + ihl, l4Length, 0)) == 0xFFFF;
    }
    return true;
  }
}
