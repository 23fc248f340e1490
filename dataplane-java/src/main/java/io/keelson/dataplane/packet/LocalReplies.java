package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * Answers the gateway gives itself, written in place over the request (no new buffer): ARP replies,
 * ICMP echo replies, and the who-has requests it originates into a burst's extra slot.
 *
 * <p>Threading: stateless.
 */
final class LocalReplies {
  static final int ECHO_REPLY_TTL = 64;

  private LocalReplies() {}

  /** Turns an ARP request for {@code ip} into our reply, sent back to the asker. */
  static void arpReply(PacketBuffer buf, int l3, long ourMac) {
    long askerMac = buf.getMac(l3 + Arp.SHA);
    int askerIp = buf.getInt(l3 + Arp.SPA);
    int wantedIp = buf.getInt(l3 + Arp.TPA);
    buf.putMac(Ethernet.DST, askerMac);
    buf.putMac(Ethernet.SRC, ourMac);
    buf.putShort(l3 + Arp.OPER, Arp.OP_REPLY);
    buf.putMac(l3 + Arp.SHA, ourMac);
    buf.putInt(l3 + Arp.SPA, wantedIp);
    buf.putMac(l3 + Arp.THA, askerMac);
    buf.putInt(l3 + Arp.TPA, askerIp);
  }

  /**
   * Turns an ICMP echo request into its reply: addresses and MACs swapped (the IP checksum does not
   * change under a swap), type 0, TTL reset; both checksums updated incrementally.
   */
  static void echoReply(PacketBuffer buf, int l3, int l4, long ourMac) {
    long peerMac = buf.getMac(Ethernet.SRC);
    buf.putMac(Ethernet.DST, peerMac);
    buf.putMac(Ethernet.SRC, ourMac);
    int src = buf.getInt(l3 + Ipv4.SRC);
    buf.putInt(l3 + Ipv4.SRC, buf.getInt(l3 + Ipv4.DST));
    buf.putInt(l3 + Ipv4.DST, src);
    int oldTtlWord = buf.getShort(l3 + Ipv4.TTL);
    int newTtlWord = (ECHO_REPLY_TTL << 8) | (oldTtlWord & 0xFF);
    buf.putShort(l3 + Ipv4.TTL, newTtlWord);
    buf.putShort(l3 + Ipv4.CHECKSUM, Checksums.update16(buf.getShort(l3 + Ipv4.CHECKSUM), oldTtlWord, newTtlWord));
    int oldTypeCode = buf.getShort(l4 + Icmp.TYPE);
    int newTypeCode = (Icmp.ECHO_REPLY << 8) | (oldTypeCode & 0xFF);
    buf.putShort(l4 + Icmp.TYPE, newTypeCode);
    buf.putShort(l4 + Icmp.CHECKSUM, Checksums.update16(buf.getShort(l4 + Icmp.CHECKSUM), oldTypeCode, newTypeCode));
  }

  /** Writes a broadcast who-has for {@code targetIp} from {@code ourIp}/{@code ourMac} into a 60-byte frame. */
  static void arpRequest(PacketBuffer frame, long ourMac, int ourIp, int targetIp) {
    frame.putMac(Ethernet.DST, Ethernet.BROADCAST);
    frame.putMac(Ethernet.SRC, ourMac);
    frame.putShort(Ethernet.TYPE, Ethernet.TYPE_ARP);
    int l3 = Ethernet.HEADER_LENGTH;
    frame.putShort(l3 + Arp.HTYPE, Arp.HTYPE_ETHERNET);
    frame.putShort(l3 + Arp.PTYPE, Ethernet.TYPE_IPV4);
    frame.putByte(l3 + Arp.HLEN, 6);
    frame.putByte(l3 + Arp.PLEN, 4);
    frame.putShort(l3 + Arp.OPER, Arp.OP_REQUEST);
    frame.putMac(l3 + Arp.SHA, ourMac);
    frame.putInt(l3 + Arp.SPA, ourIp);
    frame.putMac(l3 + Arp.THA, 0);
    frame.putInt(l3 + Arp.TPA, targetIp);
    for (int i = l3 + Arp.LENGTH; i < Ethernet.MIN_FRAME; i++) {
      frame.putByte(i, 0);
    }
  }
}
