package io.keelson.dataplane.packet;

import java.util.concurrent.atomic.AtomicReference;
import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.conntrack.ConnTrack;
import io.keelson.dataplane.packet.conntrack.ConnTrack6;
import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * The IPv6 gateway: classifies and forwards the packets {@link Ipv6Parser} accepted ({@link
 * PacketBurst#KIND_IPV6}), for {@link ForwardStage}, which owns it and calls it from its per-packet
 * switch, so IPv4 packets never reach this class.
 * <ul>
 *   <li>Client → IPv6 VIP: ACL ({@link Ipv6Config#aclAllows}) and the SYN limit (per source /64) for packets
 *       that open a flow, then a tracked flow keeps its backend; a new one gets the Maglev backend for its
 *       IPv6 5-tuple, the SNAT address of the backend's port and a free SNAT port. NAT66, hop limit − 1, the
 *       TCP/UDP checksum updated incrementally ({@link Nat66Rewrite}).
 *   <li>Backend → SNAT: reverse-translated to {@code VIP → client}.
 *   <li>Neighbor Discovery: Solicitations for the gateway's addresses (own, VIP, SNAT, as ARP) are answered
 *       with an Advertisement; next hops are resolved by sending a Solicitation and learning the answer.
 *   <li>ICMPv6 echo to a gateway address is answered; other traffic to its own address goes to the kernel.
 * </ul>
 * A next hop is the peer itself when its prefix is on one of the ports, else the default gateway ({@link
 * Ipv6Config#route}); either is resolved by Neighbor Discovery. The flow table ({@link ConnTrack6}, megabytes)
 * exists only once a config with IPv6 VIPs has been seen ({@link #track}): an IPv4-only gateway has none.
 *
 * <p>Threading: single writer of its tables and counters, on its forwarding stage's thread.
 */
final class Ipv6Forwarder {
  private final DropCounters drops;
  /** Null until {@link #track} sees IPv6 VIPs; then kept (flows outlive the VIPs that opened them). */
  private ConnTrack6 flows;
  /** Marks {@link #prepared} once {@link #track} has taken it. */
  private static final Object TAKEN = new Object();
  /** The flow table {@link #prepare} built off the forwarding thread, until {@link #track} takes it; then TAKEN. */
  private final AtomicReference<Object> prepared = new AtomicReference<>();
  private final NeighbourTable6 neighbours;
  private final int shard;
  private final int shardMask;
  private SynRateLimiter limiter;
  /**
   * Duplicate address detection defences per target address: one a second on this shard, as the neighbour table
   * paces the gateway's own Solicitations (the default retry interval), since each one is multicast to every node on
   * the link.
   */
  private final NdpDefencePacer defences = new NdpDefencePacer();
  private GatewayLimits limits;
  private long retryNanos;
  private long reachableNanos;

  /** IPv6 flows tracked at most: a quarter of the IPv4 table's capacity (at least 1,024). */
  static int capacityFor(GatewayLimits limits) {
    return Math.max(1024, limits.conntrackCapacity() / 4);
  }

  Ipv6Forwarder(GatewayLimits initial, int shard, int shards, DropCounters drops) {
    this.drops = drops;
    this.shard = shard;
    this.shardMask = shards - 1;
    this.neighbours = new NeighbourTable6(initial.arpCapacity());
    configure(initial);
  }

  void configure(GatewayLimits next) {
    if (flows != null) {
      timeouts(flows, next);
    }
    retryNanos = next.arpRetry().toNanos();
    reachableNanos = next.arpReachable().toNanos();
    if (limiter == null || limits.synSources() != next.synSources()) {
      limiter = new SynRateLimiter(next.synSources(), next.synPerSecond(), next.synBurst());
    } else {
      limiter.rate(next.synPerSecond(), next.synBurst());
    }
    limits = next;
  }

  private static void timeouts(ConnTrack6 table, GatewayLimits limits) {
    table.timeouts(limits.tcpEstablished().toNanos(), limits.tcpTransitory().toNanos(),
        limits.tcpClosing().toNanos(), limits.udp().toNanos());
  }

  /**
   * On the thread that publishes a config with IPv6 VIPs (before it is published): builds the flow table (megabytes,
   * zeroed) there, sized from {@code next}, for {@link #track} to take at the burst boundary. Once only.
   */
  void prepare(Ipv6Config v6, GatewayLimits next) {
    if (!v6.vips().isEmpty() && prepared.get() == null) {
      prepared.compareAndSet(null, new ConnTrack6(capacityFor(next)));
    }
  }

  /**
   * Called at a burst boundary whenever the config changes (before any packet of the burst): takes the flow table the
   * first time the config has IPv6 VIPs, so a gateway that never has any never allocates it. Built here only when no
   * one {@link #prepare}d it (a stage driven without {@link GatewayTables}).
   */
  void track(Ipv6Config v6) {
    if (flows == null && !v6.vips().isEmpty()) {
      flows = prepared.getAndSet(TAKEN) instanceof ConnTrack6 ready ? ready : new ConnTrack6(capacityFor(limits));
      timeouts(flows, limits);
    }
  }

  void forward(PacketBurst burst, int i, GatewayConfig config, long now) {
    Ipv6Config v6 = config.ipv6();
    int rxPort = burst.rxPort();
    if (v6.disabled()) {
      burst.drop(i, DropReason.IPV6_UNSUPPORTED, drops);
      return;
    }
    int protocol = burst.protocol[i];
    long dstHi = burst.dstHi6[i];
    long dstLo = burst.dstLo6[i];
    if (protocol == Ipv6.PROTO_ICMPV6) {
      int type = burst.flags[i];
      if (type == NeighbourDiscovery.NEIGHBOR_SOLICITATION) {
        solicitation(burst, i, v6, config.mac(rxPort), now);
        return;
      }
      if (type == NeighbourDiscovery.NEIGHBOR_ADVERTISEMENT) {
        advertisement(burst, i, v6, now);
        return;
      }
    }
    boolean l4 = protocol == Ipv4.PROTO_TCP || protocol == Ipv4.PROTO_UDP;
    if (l4) {
      int vip = v6.vipIndex(dstHi, dstLo, burst.dstPort[i], protocol);
      if (vip >= 0) {
        toBackend(burst, i, config, v6, vip, now);
        return;
      }
      if (v6.isSnatAddress(dstHi, dstLo) && config.inSnatRange(burst.dstPort[i])) {
        toClient(burst, i, config, now);
        return;
      }
    }
    boolean own = v6.isOwnAddress(dstHi, dstLo);
    if (!own && !v6.isVipAddress(dstHi, dstLo) && !v6.isSnatAddress(dstHi, dstLo)) {
      burst.drop(i, DropReason.NOT_FOR_US, drops);
      return;
    }
    if (protocol == Ipv6.PROTO_ICMPV6 && burst.flags[i] == NeighbourDiscovery.ECHO_REQUEST) {
      NeighbourDiscovery.echoReply(burst.packet(i), burst.l3[i], burst.l4[i], config.mac(rxPort));
      burst.verdict[i] = rxPort;
      return;
    }
    ClassifyStage.toKernelOrDrop(burst, i, config, own, protocol == Ipv6.PROTO_ICMPV6, l4, drops);
  }

  private void toBackend(PacketBurst burst, int i, GatewayConfig config, Ipv6Config v6, int vip, long now) {
    PacketBuffer buf = burst.packet(i);
    int l3 = burst.l3[i];
    if (buf.getByte(l3 + Ipv6.HOP_LIMIT) <= 1) {
      burst.drop(i, DropReason.TTL_EXPIRED, drops);
      return;
    }
    long srcHi = burst.srcHi6[i];
    long srcLo = burst.srcLo6[i];
    long dstHi = burst.dstHi6[i];
    long dstLo = burst.dstLo6[i];
    int sport = burst.srcPort[i];
    int dport = burst.dstPort[i];
    int protocol = burst.protocol[i];
    int tcpFlags = burst.flags[i];
    boolean tcp = protocol == Ipv4.PROTO_TCP;
    boolean opening = !tcp || (tcpFlags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN;
    if (opening) {
      if (!v6.aclAllows(srcHi, srcLo, dport)) {
        burst.drop(i, DropReason.ACL_DENIED, drops);
        return;
      }
      if (tcp && !limiter.tryAcquire((int) (srcHi ^ (srcHi >>> 32)), now)) {
        burst.drop(i, DropReason.SYN_RATE_LIMITED, drops);
        return;
      }
    }
    int found = flows.lookup(srcHi, srcLo, dstHi, dstLo, sport, dport, protocol);
    if (found >= 0 && flows.isExpired(found >> 1, now)) {
      flows.remove(found >> 1);
      found = -1;
    }
    int flow;
    if (found < 0) {
      if (tcp && !opening) {
        burst.drop(i, DropReason.NO_FLOW, drops);
        return;
      }
      flow = open(burst, i, config, v6, vip, now, srcHi, srcLo, dstHi, dstLo, sport, dport, protocol);
      if (flow < 0) {
        return;
      }
    } else if ((found & 1) != ConnTrack.FORWARD) {
      burst.drop(i, DropReason.NO_FLOW, drops);
      return;
    } else {
      flow = found >> 1;
      flows.touch(flow, now);
    }
    if (tcp) {
      clientTcpState(flow, tcpFlags);
    }
    out(burst, i, config, v6, flows.forwardPort(flow), flows.backendHi(flow), flows.backendLo(flow), now,
        flows.snatHi(flow), flows.snatLo(flow), flows.snatPort(flow), flows.backendPort(flow));
  }

  private int open(PacketBurst burst, int i, GatewayConfig config, Ipv6Config v6, int vip, long now,
      long srcHi, long srcLo, long dstHi, long dstLo, int sport, int dport, int protocol) {
    long hash = MaglevTable.hash5(srcHi, srcLo, dstHi, dstLo, sport, dport, protocol);
    int backend = v6.maglev(vip).lookup(hash);
    if (backend < 0) {
      burst.drop(i, DropReason.NO_BACKEND, drops);
      return -1;
    }
    long backendHi = v6.backendHi(vip, backend);
    long backendLo = v6.backendLo(vip, backend);
    int backendPort = v6.backendPort(vip, backend);
    int outPort = v6.route(backendHi, backendLo);
    int backPort = v6.route(srcHi, srcLo);
    if (outPort < 0 || backPort < 0) {
      burst.drop(i, DropReason.NO_ROUTE, drops);
      return -1;
    }
    long snatHi = v6.snatHi(outPort & Ipv6Config.ROUTE_PORT);
    long snatLo = v6.snatLo(outPort & Ipv6Config.ROUTE_PORT);
    int snatPort = snatPort(backendHi, backendLo, backendPort, snatHi, snatLo, protocol, hash);
    if (snatPort < 0) {
      burst.drop(i, DropReason.SNAT_EXHAUSTED, drops);
      return -1;
    }
    int initial = protocol == Ipv4.PROTO_TCP ? ConnTrack.TCP_OPENING : ConnTrack.UDP;
    int flow = flows.create(srcHi, srcLo, sport, dstHi, dstLo, dport, backendHi, backendLo, backendPort,
        snatHi, snatLo, snatPort, protocol, initial, now, outPort, backPort);
    if (flow < 0) {
      burst.drop(i, DropReason.CONNTRACK_FULL, drops);
    }
    return flow;
  }

  /** A free SNAT port of this shard toward the backend (as {@link ForwardStage}'s IPv4 choice), or -1. */
  private int snatPort(long backendHi, long backendLo, int backendPort, long snatHi, long snatLo, int protocol, long hash) {
    int first = limits.snatPortLow() + ((shard - limits.snatPortLow()) & shardMask);
    if (first > limits.snatPortHigh()) {
      return -1;
    }
    int step = shardMask + 1;
    int range = (limits.snatPortHigh() - first) / step + 1;
    int offset = (int) (((hash & 0xFFFF_FFFFL) * range) >>> 32);
    for (int k = 0, probes = Math.min(range, ForwardStage.SNAT_PROBES); k < probes; k++) {
      int port = first + offset * step;
      if (flows.lookup(backendHi, backendLo, snatHi, snatLo, backendPort, port, protocol) < 0) {
        return port;
      }
      if (++offset == range) {
        offset = 0;
      }
    }
    return -1;
  }

  private void toClient(PacketBurst burst, int i, GatewayConfig config, long now) {
    if (flows == null) {
      burst.drop(i, DropReason.NO_FLOW, drops); // no IPv6 VIP yet, so no flow
      return;
    }
    int found = flows.lookup(burst.srcHi6[i], burst.srcLo6[i], burst.dstHi6[i], burst.dstLo6[i],
        burst.srcPort[i], burst.dstPort[i], burst.protocol[i]);
    if (found < 0 || (found & 1) != ConnTrack.REVERSE || flows.isExpired(found >> 1, now)) {
      burst.drop(i, DropReason.NO_FLOW, drops);
      return;
    }
    if (burst.packet(i).getByte(burst.l3[i] + Ipv6.HOP_LIMIT) <= 1) {
      burst.drop(i, DropReason.TTL_EXPIRED, drops);
      return;
    }
    int flow = found >> 1;
    flows.touch(flow, now);
    if (burst.protocol[i] == Ipv4.PROTO_TCP) {
      backendTcpState(flow, burst.flags[i]);
    }
    out(burst, i, config, config.ipv6(), flows.reversePort(flow), flows.clientHi(flow), flows.clientLo(flow), now,
        flows.vipHi(flow), flows.vipLo(flow), flows.vipPort(flow), flows.clientPort(flow));
  }

  /**
   * The client's TCP flags move the flow's state as {@link ForwardStage}'s IPv4 ones do (kept there so the IPv4
   * path does not change): FIN/RST close it; a SYN on a closing flow reopens it (the client reuses its tuple).
   */
  private void clientTcpState(int flow, int tcpFlags) {
    if ((tcpFlags & (Tcp.FIN | Tcp.RST)) != 0) {
      flows.state(flow, ConnTrack.TCP_CLOSING);
    } else if ((tcpFlags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN && flows.state(flow) == ConnTrack.TCP_CLOSING) {
      flows.state(flow, ConnTrack.TCP_OPENING);
    }
  }

  /** The backend's TCP flags: FIN/RST close the flow; its first answer establishes it (as IPv4's). */
  private void backendTcpState(int flow, int tcpFlags) {
    if ((tcpFlags & (Tcp.FIN | Tcp.RST)) != 0) {
      flows.state(flow, ConnTrack.TCP_CLOSING);
    } else if (flows.state(flow) == ConnTrack.TCP_OPENING) {
      flows.state(flow, ConnTrack.TCP_ESTABLISHED);
    }
  }

  /**
   * MACs for the next hop of {@code route} ({@link Ipv6Config#route}: the destination {@code dstHi:dstLo} itself,
   * or the default gateway), then the NAT66 rewrite to {@code dstHi:dstLo}; drops when unresolved.
   */
  private void out(PacketBurst burst, int i, GatewayConfig config, Ipv6Config v6, int route, long dstHi, long dstLo,
      long now, long srcHi, long srcLo, int srcPort, int dstPort) {
    int port = route & Ipv6Config.ROUTE_PORT;
    long ourMac = config.mac(port);
    boolean viaGateway = (route & Ipv6Config.VIA_GATEWAY) != 0;
    if (ourMac < 0 || viaGateway && !v6.hasGatewayOn(port)) {
      burst.drop(i, DropReason.NO_ROUTE, drops); // the port, or its gateway, left the config since the flow began
      return;
    }
    long hopHi = viaGateway ? v6.gatewayHi() : dstHi;
    long hopLo = viaGateway ? v6.gatewayLo() : dstLo;
    int slot = neighbours.find(hopHi, hopLo);
    long mac = slot < 0 ? -1 : neighbours.macAt(slot);
    if (mac < 0) {
      if (neighbours.shouldSolicit(hopHi, hopLo, now, retryNanos)) {
        solicit(burst, v6, port, ourMac, hopHi, hopLo);
      }
      burst.drop(i, DropReason.NDP_UNRESOLVED, drops);
      return;
    }
    if (neighbours.shouldRefreshAt(slot, now, reachableNanos, retryNanos)) {
      solicit(burst, v6, port, ourMac, hopHi, hopLo);
    }
    PacketBuffer buf = burst.packet(i);
    NatRewrite.setMacs(buf, ourMac, mac);
    Nat66Rewrite.forward(buf, burst.l3[i], burst.l4[i], burst.protocol[i], srcHi, srcLo, dstHi, dstLo, srcPort, dstPort);
    burst.verdict[i] = port;
  }

  private static void solicit(PacketBurst burst, Ipv6Config v6, int port, long ourMac, long targetHi, long targetLo) {
    PacketBuffer frame = burst.claimExtra(port, NeighbourDiscovery.SOLICITATION_FRAME);
    if (frame != null) {
      NeighbourDiscovery.solicit(frame, ourMac, v6.ownHi(port), v6.ownLo(port), targetHi, targetLo);
    }
  }

  /** RFC 4861 §7.2.3: answer a Solicitation for one of our addresses; learn the solicitor's MAC from its option. */
  private void solicitation(PacketBurst burst, int i, Ipv6Config v6, long ourMac, long now) {
    long sourceMac = ndpLinkLayerOption(burst, i, NeighbourDiscovery.OPTION_SOURCE_MAC);
    if (sourceMac < 0) {
      return;
    }
    PacketBuffer buf = burst.packet(i);
    int l3 = burst.l3[i];
    int l4 = burst.l4[i];
    long targetHi = buf.getLong(l4 + NeighbourDiscovery.TARGET);
    long targetLo = buf.getLong(l4 + NeighbourDiscovery.TARGET + 8);
    if (burst.srcHi6[i] == 0 && burst.srcLo6[i] == 0) {
      defend(burst, i, v6, ourMac, sourceMac, targetHi, targetLo, now);
      return;
    }
    if (!v6.answersNeighbourSolicitation(targetHi, targetLo, burst.rxPort())) {
      burst.drop(i, DropReason.NDP_NOT_FOR_US, drops);
      return;
    }
    long solicitorMac = sourceMac != 0 ? sourceMac : buf.getMac(Ethernet.SRC);
    neighbours.learn(burst.srcHi6[i], burst.srcLo6[i], solicitorMac, now);
    if (l4 + NeighbourDiscovery.MESSAGE_WITH_MAC > buf.capacity()) {
      burst.drop(i, DropReason.MALFORMED_NDP, drops); // no room to answer in place (never with real mbufs)
      return;
    }
    NeighbourDiscovery.advertise(buf, l3, l4, ourMac, solicitorMac);
    burst.verdict[i] = burst.rxPort();
  }

  /**
   * A duplicate address detection probe (RFC 4862 §5.4.3: source ::): for one of our addresses, RFC 4861 §7.2.4's
   * answer, an unsolicited Advertisement to all nodes (ff02::1) that tells the prober the address is taken.
   * Nothing is learnt (the prober has no address yet). §7.1.1: a probe carries no source link-layer option and goes
   * to the target's solicited-node multicast group {@code ff02::1:ffXX:XXXX}.
   */
  private void defend(PacketBurst burst, int i, Ipv6Config v6, long ourMac, long sourceMac, long targetHi, long targetLo,
      long now) {
    if (sourceMac != 0 || burst.dstHi6[i] != Ipv6.SOLICITED_NODE_HI
        || burst.dstLo6[i] != Ipv6.solicitedNodeLo(targetLo)) {
      burst.drop(i, DropReason.MALFORMED_NDP, drops); // §7.1.1: a probe goes to the target's solicited-node group
      return;
    }
    if (!v6.answersNeighbourSolicitation(targetHi, targetLo, burst.rxPort())) {
      burst.drop(i, DropReason.NDP_NOT_FOR_US, drops);
      return;
    }
    PacketBuffer buf = burst.packet(i);
    int l4 = burst.l4[i];
    if (l4 + NeighbourDiscovery.MESSAGE_WITH_MAC > buf.capacity()) {
      burst.drop(i, DropReason.MALFORMED_NDP, drops); // no room to answer in place (never with real mbufs)
      return;
    }
    if (!defences.tryAcquire(targetHi, targetLo, now)) {
      burst.drop(i, DropReason.NDP_RATE_LIMITED, drops);
      return;
    }
    NeighbourDiscovery.defend(buf, burst.l3[i], l4, ourMac);
    burst.verdict[i] = burst.rxPort();
  }

  /** RFC 4861 §7.1.2: learn from an Advertisement for an address we solicited (or already know). */
  private void advertisement(PacketBurst burst, int i, Ipv6Config v6, long now) {
    long targetMac = ndpLinkLayerOption(burst, i, NeighbourDiscovery.OPTION_TARGET_MAC);
    if (targetMac < 0) {
      return;
    }
    PacketBuffer buf = burst.packet(i);
    int l4 = burst.l4[i];
    long targetHi = buf.getLong(l4 + NeighbourDiscovery.TARGET);
    long targetLo = buf.getLong(l4 + NeighbourDiscovery.TARGET + 8);
    if (neighbours.find(targetHi, targetLo) < 0) {
      burst.drop(i, DropReason.NDP_NOT_FOR_US, drops); // nothing asked: no cache entry is created (RFC 4861 §7.2.5)
      return;
    }
    neighbours.learn(targetHi, targetLo, targetMac != 0 ? targetMac : buf.getMac(Ethernet.SRC), now);
    burst.verdict[i] = PacketBurst.CONSUMED;
  }

  /**
   * RFC 4861 §7.1's checks (hop limit 255, code 0, room for the target, well-formed options) on the NDP
   * message of packet {@code i}: its link-layer option of {@code optionType} (0 when absent), or -1 with
   * the packet dropped as {@link DropReason#MALFORMED_NDP}.
   */
  private long ndpLinkLayerOption(PacketBurst burst, int i, int optionType) {
    PacketBuffer buf = burst.packet(i);
    int l3 = burst.l3[i];
    int l4 = burst.l4[i];
    int end = l3 + Ipv6.HEADER_LENGTH + buf.getShort(l3 + Ipv6.PAYLOAD_LENGTH);
    long mac = end - l4 < NeighbourDiscovery.OPTIONS ? -1 : NeighbourDiscovery.linkLayerOption(buf, l4, end, optionType);
    if (mac < 0 || buf.getByte(l3 + Ipv6.HOP_LIMIT) != NeighbourDiscovery.NDP_HOP_LIMIT || buf.getByte(l4 + Icmp.CODE) != 0) {
      burst.drop(i, DropReason.MALFORMED_NDP, drops);
      return -1;
    }
    return mac;
  }

  /** The idle sweep, once per burst: nothing to do (one field read) while there is no IPv6 flow table. */
  void expire(long now, int maxSlots) {
    if (flows != null && flows.size() > 0) {
      flows.expire(now, maxSlots);
    }
  }

  int trackedFlows() {
    return flows == null ? 0 : flows.size();
  }

  /** IPv6 flows the table holds at most; 0 while it does not exist. */
  int flowCapacity() {
    return flows == null ? 0 : flows.capacity();
  }

  /** Test hook: pre-resolves a neighbour as if an Advertisement had been learnt. */
  void learnNeighbour(long hi, long lo, long mac, long now) {
    neighbours.learn(hi, lo, mac, now);
  }
}
