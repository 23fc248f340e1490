package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/** Builds real IPv6 frames (valid checksums unless told otherwise) for the packet tests. */
final class TestPacket6 {
  private long srcMac = TestPacket.CLIENT_MAC;
  private long dstMac = TestPacket.GW_MAC_0;
  private Ipv6.Address src;
  private Ipv6.Address dst;
  private int hopLimit = 64;
  private int protocol = Ipv4.PROTO_TCP;
  private int srcPort;
  private int dstPort;
  private int tcpFlags = Tcp.SYN;
  private byte[] icmp;
  private int payload;
  private final ByteArrayOutputStream extensions = new ByteArrayOutputStream();
  private int firstHeader = -1;
  private int lastExtensionNextOffset = -1;

  static TestPacket6 tcp(String src, int sport, String dst, int dport, int flags) {
    TestPacket6 p = new TestPacket6();
    p.src = Ipv6.Address.parse(src);
    p.dst = Ipv6.Address.parse(dst);
    p.srcPort = sport;
    p.dstPort = dport;
    p.tcpFlags = flags;
    return p;
  }

  static TestPacket6 udp(String src, int sport, String dst, int dport) {
    TestPacket6 p = tcp(src, sport, dst, dport, 0);
    p.protocol = Ipv4.PROTO_UDP;
    return p;
  }

  /** An ICMPv6 message whose bytes from the type on are {@code message} (checksum field filled in). */
  static TestPacket6 icmp(String src, String dst, byte[] message) {
    TestPacket6 p = tcp(src, 0, dst, 0, 0);
    p.protocol = Ipv6.PROTO_ICMPV6;
    p.icmp = message.clone();
    return p;
  }

  static TestPacket6 echoRequest(String src, String dst) {
    return icmp(src, dst, new byte[] {(byte) NeighbourDiscovery.ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'});
  }

  /** A Neighbor Solicitation for {@code target} to its solicited-node group, with the sender's MAC option. */
  static TestPacket6 solicitation(String src, long senderMac, String target) {
    Ipv6.Address t = Ipv6.Address.parse(target);
    ByteBuffer m = ByteBuffer.allocate(32);
    m.put((byte) NeighbourDiscovery.NEIGHBOR_SOLICITATION).put((byte) 0).putShort((short) 0).putInt(0);
    m.putLong(t.hi()).putLong(t.lo());
    m.put((byte) 1).put((byte) 1).putShort((short) (senderMac >>> 32)).putInt((int) senderMac);
    long group = Ipv6.solicitedNodeLo(t.lo());
    TestPacket6 p = icmp(src, new Ipv6.Address(Ipv6.SOLICITED_NODE_HI, group).toString(), m.array());
    p.macs(senderMac, Ipv6.multicastMac(group));
    p.hopLimit = 255;
    return p;
  }

  /**
   * A duplicate address detection probe for {@code target} (RFC 4862 §5.4.3): a Solicitation from ::, without a
   * source link-layer option, from {@code senderMac}; the frame has room after it (as an mbuf has) for the answer.
   */
  static byte[] dadProbe(long senderMac, String target) {
    Ipv6.Address t = Ipv6.Address.parse(target);
    return dadProbe(senderMac, target, new Ipv6.Address(Ipv6.SOLICITED_NODE_HI, Ipv6.solicitedNodeLo(t.lo())).toString());
  }

  /** A duplicate address detection probe for {@code target} sent to {@code dst}. */
  static byte[] dadProbe(long senderMac, String target, String dst) {
    Ipv6.Address t = Ipv6.Address.parse(target);
    ByteBuffer m = ByteBuffer.allocate(24);
    m.put((byte) NeighbourDiscovery.NEIGHBOR_SOLICITATION).put((byte) 0).putShort((short) 0).putInt(0);
    m.putLong(t.hi()).putLong(t.lo());
    Ipv6.Address d = Ipv6.Address.parse(dst);
    TestPacket6 p = icmp("::", dst, m.array());
    p.macs(senderMac, Ipv6.multicastMac(d.lo()));
    p.hopLimit = 255;
    byte[] frame = p.bytes();
    return java.util.Arrays.copyOf(frame, frame.length + 64);
  }

  /** A solicited Neighbor Advertisement for {@code target} at {@code targetMac}, to {@code dst}. */
  static TestPacket6 advertisement(String target, long targetMac, String dst, long dstMac) {
    Ipv6.Address t = Ipv6.Address.parse(target);
    ByteBuffer m = ByteBuffer.allocate(32);
    m.put((byte) NeighbourDiscovery.NEIGHBOR_ADVERTISEMENT).put((byte) 0).putShort((short) 0).putInt(0x6000_0000);
    m.putLong(t.hi()).putLong(t.lo());
    m.put((byte) 2).put((byte) 1).putShort((short) (targetMac >>> 32)).putInt((int) targetMac);
    TestPacket6 p = icmp(target, dst, m.array());
    p.macs(targetMac, dstMac);
    p.hopLimit = 255;
    return p;
  }

  TestPacket6 macs(long src, long dst) {
    srcMac = src;
    dstMac = dst;
    return this;
  }

  TestPacket6 hopLimit(int h) {
    hopLimit = h;
    return this;
  }

  TestPacket6 payload(int bytes) {
    payload = bytes;
    return this;
  }

  /** Appends an extension header ({@code type}: hop-by-hop, routing, destination options, fragment) of {@code length} bytes. */
  TestPacket6 extension(int type, int length) {
    byte[] h = new byte[length];
    h[1] = (byte) (length / 8 - 1);
    if (firstHeader < 0) {
      firstHeader = type;
    } else {
      byte[] so = extensions.toByteArray();
      so[lastExtensionNextOffset] = (byte) type;
      extensions.reset();
      extensions.writeBytes(so);
    }
    lastExtensionNextOffset = extensions.size();
    extensions.writeBytes(h);
    return this;
  }

  byte[] bytes() {
    byte[] l4 = switch (protocol) {
      case Ipv4.PROTO_TCP -> ByteBuffer.allocate(20 + payload).putShort((short) srcPort).putShort((short) dstPort)
          .putInt(0x1000_0000).putInt(tcpFlags == Tcp.SYN ? 0 : 0x2000_0000).put((byte) 0x50).put((byte) tcpFlags)
          .putShort((short) 64240).array();
      case Ipv4.PROTO_UDP -> ByteBuffer.allocate(8 + payload).putShort((short) srcPort).putShort((short) dstPort)
          .putShort((short) (8 + payload)).array();
      default -> icmp == null ? new byte[payload] : icmp;
    };
    int l4Start = protocol == Ipv4.PROTO_TCP ? 20 : protocol == Ipv4.PROTO_UDP ? 8 : l4.length;
    for (int i = l4Start; i < l4.length; i++) {
      l4[i] = (byte) (i * 7 + 3);
    }
    byte[] ext = extensions.toByteArray();
    if (firstHeader >= 0) {
      ext[lastExtensionNextOffset] = (byte) protocol;
    }
    int payloadLength = ext.length + l4.length;
    int frameLength = Math.max(Ethernet.MIN_FRAME, 14 + 40 + payloadLength);
    ByteBuffer b = ByteBuffer.allocate(frameLength);
    b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac);
    b.putShort((short) Ethernet.TYPE_IPV6);
    b.putInt(0x6000_0000).putShort((short) payloadLength).put((byte) (firstHeader >= 0 ? firstHeader : protocol))
        .put((byte) hopLimit);
    b.putLong(src.hi()).putLong(src.lo()).putLong(dst.hi()).putLong(dst.lo());
    b.put(ext).put(l4);
    byte[] frame = b.array();
    PacketBuffer buf = PacketBuffer.ofBytes(frame, frame.length);
    int l4Offset = 14 + 40 + ext.length;
    int checksumOffset = protocol == Ipv4.PROTO_TCP ? Tcp.CHECKSUM : protocol == Ipv4.PROTO_UDP ? Udp.CHECKSUM
        : protocol == Ipv6.PROTO_ICMPV6 ? Icmp.CHECKSUM : -1;
    if (checksumOffset >= 0) {
      buf.putShort(l4Offset + checksumOffset, 0);
      buf.putShort(l4Offset + checksumOffset, ~Checksums.fold(Checksums.sum(buf, l4Offset, l4.length,
          Checksums.ipv6PseudoHeaderSum(buf, 14, l4.length, protocol))) & 0xFFFF);
    }
    return frame;
  }

  /** True when the IPv6 frame's TCP/UDP/ICMPv6 checksum matches a full recomputation (no extension headers). */
  static boolean checksumValid(PacketBuffer buf) {
    int l3 = Ethernet.HEADER_LENGTH;
    int length = buf.getShort(l3 + Ipv6.PAYLOAD_LENGTH);
    return Checksums.ipv6L4Valid(buf, l3, l3 + Ipv6.HEADER_LENGTH, length, buf.getByte(l3 + Ipv6.NEXT_HEADER));
  }

  static Ipv6.Address address(PacketBuffer buf, int offset) {
    return new Ipv6.Address(buf.getLong(offset), buf.getLong(offset + 8));
  }
}
