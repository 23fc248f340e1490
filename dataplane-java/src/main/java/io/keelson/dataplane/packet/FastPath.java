package io.keelson.dataplane.packet;

import static io.keelson.dataplane.internal.ffm.NativeWords.getInt;
import static io.keelson.dataplane.internal.ffm.NativeWords.getLong;
import static io.keelson.dataplane.internal.ffm.NativeWords.getShort;
import static io.keelson.dataplane.internal.ffm.NativeWords.putInt;
import static io.keelson.dataplane.internal.ffm.NativeWords.putLong;
import static io.keelson.dataplane.internal.ffm.NativeWords.putShort;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.conntrack.ConnTrack;

/**
 * The gateway's fast path: a pass over a burst, before {@link ParseStage}, that forwards the common
 * packet — an untagged IPv4 TCP segment without options in the IP header, to our MAC, neither SYN, FIN
 * nor RST, of an established, tracked flow (either direction) whose next hop is resolved — by reading its
 * header words once at fixed offsets from the native packet, looking its flow up, and rewriting MACs,
 * TTL, addresses, ports and both checksums with a few wide stores. It sets the packet's verdict; the
 * general stages skip packets that have one. Everything else (ARP, SYN, FIN, RST, new flows, UDP,
 * ICMP, malformed frames, ACL, heap packets) is left to the general path.
 *
 * <p><b>Same behaviour as the general path.</b> The fast pass handles its packets before the general
 * stages handle the others, so it takes a packet only when that order cannot change any result:
 * <ul>
 *   <li>It changes nothing but the flow's last-seen time (the general path, for such a packet, does the
 *       same and nothing else), and only for flows that are not expired.
 *   <li>A packet the general path handles earlier in the burst may change a flow (state, removal) or the
 *       ARP table. So the pass marks the flow of every such TCP/UDP packet (a 64-bit mask by flow id)
 *       and leaves later packets of a marked flow to the general path; it stops at the first ARP, VLAN
 *       or IPv4-with-options frame (it cannot tell cheaply what those change).
 *   <li>It leaves a packet to the general path when that would send an ARP request (next hop unknown or
 *       due for a refresh), drop it, or change the flow's state (a reply to an opening flow).
 * </ul>
 * {@code FastPathEquivalenceTest} checks that a mixed capture gives byte-identical packets, verdicts
 * and counters either way.
 *
 * <p>Threading: that of its {@link ForwardStage} (one thread at a time).
 */
final class FastPath {
  /** {@code -Dkeelson.gateway.fastPath=false} turns the fast path off (A/B measurement). */
  static final boolean ENABLED = !"false".equals(System.getProperty("keelson.gateway.fastPath"));

  private static final int MIN_FRAME = 54; // Ethernet 14 + IPv4 20 + TCP 20
  private static final int NOT_FAST = Tcp.SYN | Tcp.FIN | Tcp.RST;

  private final ForwardStage forward;
  /** The last next hop and its ARP slot in this burst (the fast pass never changes the ARP table). */
  private int memoHop;
  private int memoSlot;

  FastPath(ForwardStage forward) {
    this.forward = forward;
  }

  /** Forwards the burst's fast packets (verdict set); the rest stay {@link PacketBurst#PENDING}. */
  void onEvent(PacketBurst burst, GatewayConfig config, long now) {
    forward.prepare(config);
    long rxMac = config.mac(burst.rxPort());
    ConnTrack flows = forward.flows();
    ArpTable arp = forward.arp();
    long reachable = forward.arpReachableNanos();
    long retry = forward.arpRetryNanos();
    long generalFlows = 0;
    memoSlot = -1;
    int[] verdict = burst.verdict;
    for (int i = 0, n = burst.count(); i < n; i++) {
      PacketBuffer buf = burst.packet(i);
      long a = buf.nativeAddress();
      if (a == 0) {
        return; // a heap packet (tests, tools): the general path for it and the rest
      }
      int len = buf.length();
      long verdictOrBit = len < MIN_FRAME ? -1 : fast(a, len, rxMac, config, flows, arp, generalFlows, now, reachable, retry);
      if (verdictOrBit >= 0) {
        verdict[i] = (int) verdictOrBit;
        continue;
      }
      if (verdictOrBit == -1) {
        long bit = generalBit(a, len, flows, now);
        if (bit < 0) {
          return;
        }
        generalFlows |= bit;
      } else {
        generalFlows |= 1L << (int) (-2 - verdictOrBit); // the flow's bit, from fast()
      }
    }
  }

  /**
   * The out port (≥ 0) when packet {@code a} went the fast way; -1 when it is not a fast packet; -2 - (flow
   * id & 63) when it is one of a tracked flow the general path must handle (its bit is to be marked).
   */
  private long fast(long a, int len, long rxMac, GatewayConfig config, ConnTrack flows, ArpTable arp,
      long generalFlows, long now, long reachable, long retry) {
    long macs = getLong(a); // destination MAC, then the source MAC's first two bytes
    long typeEtc = getLong(a + 8); // source MAC's last four, ethertype, version/IHL, TOS
    if ((macs >>> 16) != rxMac || ((int) (typeEtc >>> 8) & 0xFF_FFFF) != (Ethernet.TYPE_IPV4 << 8 | 0x45)) {
      return -1;
    }
    int word0 = getInt(a + 14); // version, IHL, TOS, total length
    int word1 = getInt(a + 18); // identification, flags, fragment offset
    int word2 = getInt(a + 22); // TTL, protocol, checksum
    int src = getInt(a + 26);
    int dst = getInt(a + 30);
    int totalLength = word0 & 0xFFFF;
    if (totalLength < Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH || Ethernet.HEADER_LENGTH + totalLength > len
        || (word1 & Ipv4.MF_OR_OFFSET) != 0 || (word2 >>> 24) <= 1 || ((word2 >>> 16) & 0xFF) != Ipv4.PROTO_TCP) {
      return -1;
    }
    long sum = Integer.toUnsignedLong(word0) + Integer.toUnsignedLong(word1) + Integer.toUnsignedLong(word2)
        + Integer.toUnsignedLong(src) + Integer.toUnsignedLong(dst);
    if (Checksums.foldLong(sum) != 0xFFFF) {
      return -1;
    }
    int ports = getInt(a + 34);
    int offsetAndFlags = getShort(a + 46);
    int dataOffset = (offsetAndFlags >>> 12) * 4;
    if (dataOffset < Tcp.MIN_HEADER_LENGTH || dataOffset > totalLength - Ipv4.MIN_HEADER_LENGTH
        || (offsetAndFlags & NOT_FAST) != 0) {
      return -1;
    }
    int sport = ports >>> 16;
    int dport = ports & 0xFFFF;
    boolean toVip = config.vipIndex(dst, dport, Ipv4.PROTO_TCP) >= 0;
    if (!toVip && !(config.isSnatAddress(dst) && config.inSnatRange(dport))) {
      return -1;
    }
    int found = flows.lookup(src, dst, sport, dport, Ipv4.PROTO_TCP);
    if (found < 0) {
      return -1;
    }
    int flow = found >> 1;
    long flowBit = -2 - (flow & 63);
    if ((found & 1) != (toVip ? ConnTrack.FORWARD : ConnTrack.REVERSE)
        || ((generalFlows >>> (flow & 63)) & 1) != 0
        || flows.isExpired(flow, now)
        || (!toVip && flows.state(flow) == ConnTrack.TCP_OPENING)) {
      return flowBit;
    }
    long route = toVip ? flows.routeForward(flow) : flows.routeReverse(flow);
    int port = (int) (route >>> 32);
    long ourMac = config.mac(port);
    int hop = (int) route;
    int slot = memoSlot;
    if (slot < 0 || hop != memoHop) {
      slot = arp.find(hop);
      memoHop = hop;
      memoSlot = slot;
    }
    long mac = slot < 0 ? -1 : arp.macAt(slot);
    if (ourMac < 0 || mac < 0 || arp.needsRefreshAt(slot, now, reachable, retry)) {
      return flowBit;
    }
    int newSrc;
    int newDst;
    int newPorts;
    if (toVip) {
      newSrc = flows.snatIp(flow);
      newDst = flows.backendIp(flow);
      newPorts = flows.snatPort(flow) << 16 | flows.backendPort(flow);
    } else {
      newSrc = flows.vipIp(flow);
      newDst = flows.clientIp(flow);
      newPorts = flows.vipPort(flow) << 16 | flows.clientPort(flow);
    }
    flows.touch(flow, now);

    // RFC 1624, as NatRewrite.forward: one address delta for both checksums, TTL − 1 into the IPv4 one.
    int addressDelta = (~src >>> 16) + (~src & 0xFFFF) + (newSrc >>> 16) + (newSrc & 0xFFFF)
        + (~dst >>> 16) + (~dst & 0xFFFF) + (newDst >>> 16) + (newDst & 0xFFFF);
    int ipDelta = addressDelta + (~(word2 >>> 16) & 0xFFFF) + ((word2 >>> 16) - 0x0100);
    int ttlWord = word2 - 0x0100_0000;
    ttlWord = (ttlWord & 0xFFFF_0000) | NatRewrite.apply(ttlWord & 0xFFFF, ipDelta);
    int newSport = newPorts >>> 16;
    int newDport = newPorts & 0xFFFF;
    int portDelta = (~sport & 0xFFFF) + newSport + (~dport & 0xFFFF) + newDport;
    int tcpChecksum = NatRewrite.apply(getShort(a + 50), addressDelta + portDelta);

    putLong(a, mac << 16 | ourMac >>> 32);
    putInt(a + 8, (int) ourMac);
    putLong(a + 22, (long) ttlWord << 32 | Integer.toUnsignedLong(newSrc)); // TTL, protocol, checksum, source
    putLong(a + 30, (long) newDst << 32 | Integer.toUnsignedLong(newPorts)); // destination, ports
    putShort(a + 50, tcpChecksum);
    return port;
  }

  /**
   * A packet for the general path: the bit of the flow it belongs to, 0 when it has none or when the general
   * path will only touch it (a forward TCP segment without FIN or RST that does not reopen a closing flow:
   * a SYN of an open flow, as a replayed capture has), or -1 when the fast path must stop for the rest of the burst (ARP, VLAN, IPv4 with options or
   * too short to tell).
   */
  private static long generalBit(long a, int len, ConnTrack flows, long now) {
    if (len < Ethernet.HEADER_LENGTH) {
      return 0; // dropped at parse
    }
    int type = getShort(a + 12);
    if (type != Ethernet.TYPE_IPV4) {
      return type == Ethernet.TYPE_ARP || type == Ethernet.TYPE_VLAN ? -1 : 0;
    }
    if (len < Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + 4 || (getShort(a + 14) >>> 8) != 0x45) {
      return -1;
    }
    int protocol = getShort(a + 22) & 0xFF;
    if (protocol != Ipv4.PROTO_TCP && protocol != Ipv4.PROTO_UDP) {
      return 0;
    }
    int ports = getInt(a + 34);
    int found = flows.lookup(getInt(a + 26), getInt(a + 30), ports >>> 16, ports & 0xFFFF, protocol);
    if (found < 0) {
      return 0;
    }
    int flow = found >> 1;
    if (protocol == Ipv4.PROTO_TCP && len >= MIN_FRAME && (found & 1) == ConnTrack.FORWARD) {
      int flags = getShort(a + 46) & 0xFF;
      if ((flags & (Tcp.FIN | Tcp.RST)) == 0 && !flows.isExpired(flow, now)
          && ((flags & (Tcp.SYN | Tcp.ACK)) != Tcp.SYN || flows.state(flow) != ConnTrack.TCP_CLOSING)) {
        return 0; // ForwardStage.toBackend only touches it, as the fast path does
      }
    }
    return 1L << (flow & 63);
  }
}
