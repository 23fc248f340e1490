package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.conntrack.ConnTrack;
import io.keelson.dataplane.packet.conntrack.SweepPacer;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import io.keelson.dataplane.pipeline.Stage;

/**
 * Last gateway stage: connection tracking, Maglev, full-NAT and L2 rewrite, plus ARP.
 * <ul>
 *   <li>Client → VIP: a tracked flow keeps its backend (so a Maglev table change never moves an
 *       established flow); a new one (TCP SYN or UDP) gets the Maglev backend for its 5-tuple, a SNAT
 *       address (the one on the backend's interface) and a free SNAT port toward that backend. The
 *       packet leaves as {@code SNAT:port → backend:port}.
 *   <li>Backend → SNAT: reverse-translated to {@code VIP:port → client:port}.
 *   <li>Both: TTL − 1, checksums updated incrementally, source MAC = the out port's, destination MAC
 *       = the next hop's from the ARP table (a who-has goes out, rate-limited, when it is unknown, and
 *       to re-confirm an entry older than {@link GatewayLimits#arpReachable()}).
 *   <li>IPv6 (all of the above, plus Neighbor Discovery): {@link Ipv6Forwarder}, with its own tables.
 *   <li>ARP: learns the sender (when the packet is for us, or the sender is already known) and
 *       answers who-has for addresses {@link GatewayConfig} says we answer on the RX port.
 * </ul>
 * Idle flows are expired incrementally, paced by time ({@link SweepPacer}): one pass over the flows in
 * use per second (or a quarter of the shortest idle timeout), at most {@link GatewayLimits#sweepSlice()}
 * flow slots per burst. Table sizes (flows, ARP) are fixed when the stage is created (the IPv6 flow table is
 * created, at a burst boundary, when a config first has IPv6 VIPs); timeouts and rates follow config changes.
 *
 * <p>Threading: single writer of its connection table, ARP table and counters; one thread at a time.
 */
public final class ForwardStage implements Stage<PacketBurst> {
  /** SNAT ports tried per new flow before giving up: bounds the per-packet cost when the range is nearly full. */
  static final int SNAT_PROBES = 64;

  private final DropCounters drops = new DropCounters();
  private final ConnTrack flows;
  private final SweepPacer sweep = new SweepPacer();
  private final ArpTable arp;
  /** IPv6 packets (their own tables); IPv4 ones never reach it. */
  private final Ipv6Forwarder ipv6;
  private final int shard;
  private final int shardMask;
  private GatewayLimits limits;
  /** The config the stage last adjusted to (timeouts, the IPv6 flow table); a new one is taken at a burst boundary. */
  private GatewayConfig applied;
  private long arpRetryNanos;
  private long arpReachableNanos;
  /** Per packet of the current burst: its {@link ConnTrack#lookup} result, taken in one pass (see {@link #lookUpBurst}). */
  private int[] found = new int[PacketBurst.DEFAULT_MAX_BURST];
  /** {@link ConnTrack#modifications()} when {@link #found} was filled. */
  private int foundAt;
  /** Consumes {@link ConnTrack#warm}'s loads so the JIT keeps them. */
  private long warmed;
  /**
   * The last next hop {@link #l2} resolved in this burst and its ARP slot: a burst's packets mostly go to
   * a few next hops, so most packets skip the table's hash and probe. Cleared at the start of every burst
   * and whenever the ARP table may change (an ARP packet, a who-has).
   */
  private int memoHop;
  private int memoSlot = -1;
  /**
   * The last flow (lookup value: id and direction) this burst forwarded, and all it takes to forward
   * another packet of it: the capture's flows send trains of back-to-back packets, and every packet of a
   * train has the same tuple, so the same record fields, MACs, out port and checksum deltas. -1 when
   * none; valid while {@link ConnTrack#modifications()} is {@link #trainAt} and the ARP table has not
   * changed (cleared with {@link #memoSlot}). The flow was touched at this burst's time by the train's
   * first packet, so it cannot be expired for the rest of the burst.
   */
  private int trainFound = -1;
  private int trainAt;
  private int trainPort;
  private long trainOurMac;
  private long trainMac;
  private int trainSrcIp;
  private int trainDstIp;
  private int trainPorts;
  /** One's-complement sums to add to the IPv4 checksum (addresses and TTL − 1) and the TCP/UDP one (addresses, ports). */
  private int trainIpDelta;
  private int trainL4Delta;

  public ForwardStage(GatewayLimits initial) {
    this(initial, 0, 1);
  }

  /**
   * A forwarding stage for one of {@code shards} RX queues, each with its own connection table.
   * It only hands out SNAT ports {@code p} with {@code p % shards == shard}, so the I/O layer can
   * steer return traffic (backend → SNAT address) to the queue that tracks the flow by matching the
   * destination port's low bits (an rte_flow rule with a port mask). Client → VIP traffic needs no
   * steering: RSS sends a flow's packets to the same queue every time.
   *
   * @param shards a power of two ≥ 1; {@code shard} in [0, shards)
   */
  public ForwardStage(GatewayLimits initial, int shard, int shards) {
    checkShard(shard, shards);
    this.shard = shard;
    this.shardMask = shards - 1;
    this.flows = new ConnTrack(initial.conntrackCapacity(), 1, 1, 1, 1);
    this.arp = new ArpTable(initial.arpCapacity());
    this.ipv6 = new Ipv6Forwarder(initial, shard, shards, drops);
    applyTimeouts(initial);
  }

  static void checkShard(int shard, int shards) {
    if (shards < 1 || Integer.bitCount(shards) != 1 || shard < 0 || shard >= shards) {
      throw new IllegalArgumentException("forward stage shard " + shard + " of " + shards
          + ": shards must be a power of two and the shard within [0, shards)");
    }
  }

  private void applyTimeouts(GatewayLimits next) {
    flows.timeouts(next.tcpEstablished().toNanos(), next.tcpTransitory().toNanos(),
        next.tcpClosing().toNanos(), next.udp().toNanos());
    arpRetryNanos = next.arpRetry().toNanos();
    arpReachableNanos = next.arpReachable().toNanos();
    sweep.shortestTimeout(Math.min(Math.min(next.tcpEstablished().toNanos(), next.tcpTransitory().toNanos()),
        Math.min(next.tcpClosing().toNanos(), next.udp().toNanos())));
    if (limits != null) {
      ipv6.configure(next);
    }
    limits = next;
  }

  /**
   * Off the forwarding thread, before {@code next} is published ({@link GatewayTables#onUpdate}): builds what the burst
   * that first sees it would otherwise allocate (the IPv6 flow table, sized from {@code next}'s limits).
   */
  void prepare(GatewayConfig next) {
    ipv6.prepare(next.ipv6(), next.limits());
  }

  /** A new config, before the first packet of the burst that brought it. */
  private void apply(GatewayConfig config) {
    if (config.limits() != limits) {
      applyTimeouts(config.limits());
    }
    ipv6.track(config.ipv6());
    applied = config;
  }

  @Override
  public void onEvent(PacketBurst burst) {
    GatewayConfig config = burst.config;
    if (config != applied) {
      apply(config);
    }
    long now = burst.now;
    int n = burst.count();
    memoSlot = -1;
    trainFound = -1;
    lookUpBurst(burst, n);
    for (int i = 0; i < n; i++) {
      if (burst.verdict[i] != PacketBurst.PENDING) {
        continue;
      }
      switch (burst.kind[i]) {
        case PacketBurst.KIND_TO_VIP -> toBackend(burst, i, config, now, found(burst, i));
        case PacketBurst.KIND_RETURN -> toClient(burst, i, config, now, found(burst, i));
        case PacketBurst.KIND_ARP -> arp(burst, i, config, now);
        case PacketBurst.KIND_IPV6 -> ipv6.forward(burst, i, config, now);
        default -> throw new IllegalStateException("packet " + i + " reached forwarding unclassified (kind " + burst.kind[i] + ")");
      }
    }
    flows.expire(now, sweep.slots(now, flows.sweepRange(), limits.sweepSlice()));
    ipv6.expire(now, limits.sweepSlice());
  }

  /**
   * Looks up every TCP/UDP packet's flow first, in a tight loop of its own: the table probes of a
   * whole burst are independent loads the CPU overlaps, where one probe per packet amid the rewrite
   * waited for each miss in turn; the flows' records are read here too, for the same reason. A packet
   * with the same 5-tuple as the one before it (a train of
   * segments of one flow) reuses that result without hashing or probing.
   */
  private void lookUpBurst(PacketBurst burst, int n) {
    if (found.length < n) {
      found = new int[burst.capacity()];
    }
    int[] result = found;
    int lastSrc = 0;
    int lastDst = 0;
    int lastPorts = 0;
    int lastProtocol = -1;
    int last = -1;
    long warm = 0;
    for (int i = 0; i < n; i++) {
      int kind = burst.kind[i];
      if (burst.verdict[i] != PacketBurst.PENDING || (kind != PacketBurst.KIND_TO_VIP && kind != PacketBurst.KIND_RETURN)) {
        continue;
      }
      int src = burst.srcIp[i];
      int dst = burst.dstIp[i];
      int ports = burst.srcPort[i] << 16 | burst.dstPort[i];
      int protocol = burst.protocol[i];
      if (src != lastSrc || dst != lastDst || ports != lastPorts || protocol != lastProtocol) {
        last = flows.lookup(src, dst, ports >>> 16, ports & 0xFFFF, protocol);
        if (last >= 0) {
          warm += flows.warm(last >> 1);
        }
        lastSrc = src;
        lastDst = dst;
        lastPorts = ports;
        lastProtocol = protocol;
      }
      result[i] = last;
    }
    warmed += warm;
    foundAt = flows.modifications();
  }

  /** Packet {@code i}'s lookup from {@link #lookUpBurst}, or a fresh one when a flow came or went since. */
  private int found(PacketBurst burst, int i) {
    if (flows.modifications() == foundAt) {
      return found[i];
    }
    return flows.lookup(burst.srcIp[i], burst.dstIp[i], burst.srcPort[i], burst.dstPort[i], burst.protocol[i]);
  }

  private void toBackend(PacketBurst burst, int i, GatewayConfig config, long now, int found) {
    PacketBuffer buf = burst.packet(i);
    int l3 = burst.l3[i];
    int ttlWord = buf.getInt(l3 + Ipv4.TTL); // TTL, protocol, checksum
    if (ttlWord >>> 24 <= 1) {
      burst.drop(i, DropReason.TTL_EXPIRED, drops);
      return;
    }
    int protocol = burst.protocol[i];
    if (continuesTrain(found, ConnTrack.FORWARD)) {
      if (protocol == Ipv4.PROTO_TCP) {
        forwardTcpState(found >> 1, burst.flags[i]);
      }
      trainOut(burst, i, buf, l3, protocol, ttlWord);
      return;
    }
    int src = burst.srcIp[i];
    int dst = burst.dstIp[i];
    int sport = burst.srcPort[i];
    int dport = burst.dstPort[i];
    int tcpFlags = burst.flags[i];
    boolean tcp = protocol == Ipv4.PROTO_TCP;
    if (found >= 0 && flows.isExpired(found >> 1, now)) {
      flows.remove(found >> 1); // idle past its timeout, the sweep just had not got there yet
      found = -1;
    }
    int flow;
    if (found < 0) {
      if (tcp && (tcpFlags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) != Tcp.SYN) {
        burst.drop(i, DropReason.NO_FLOW, drops);
        return;
      }
      flow = open(burst, i, config, now, src, dst, sport, dport, protocol);
      if (flow < 0) {
        return;
      }
    } else if ((found & 1) != ConnTrack.FORWARD) {
      burst.drop(i, DropReason.NO_FLOW, drops); // a client tuple that collides with a return tuple
      return;
    } else {
      flow = found >> 1;
      flows.touch(flow, now);
      if (tcp) {
        forwardTcpState(flow, tcpFlags);
      }
    }
    long route = flows.routeForward(flow);
    if (!l2(burst, i, buf, config, route, now)) {
      return;
    }
    startTrain(flow << 1 | ConnTrack.FORWARD, route, src, dst, sport, dport,
        flows.snatIp(flow), flows.backendIp(flow), flows.snatPort(flow), flows.backendPort(flow));
    trainRewrite(buf, l3, burst.l4[i], protocol, ttlWord);
    burst.verdict[i] = trainPort;
  }

  /** The client's TCP flags move the flow's state: FIN/RST close it; a SYN on a closing flow reopens it. */
  private void forwardTcpState(int flow, int tcpFlags) {
    if ((tcpFlags & (Tcp.FIN | Tcp.RST)) != 0) {
      flows.state(flow, ConnTrack.TCP_CLOSING);
    } else if ((tcpFlags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN && flows.state(flow) == ConnTrack.TCP_CLOSING) {
      flows.state(flow, ConnTrack.TCP_OPENING); // the client reuses its tuple: same backend
    }
  }

  /** The backend's TCP flags move the flow's state: FIN/RST close it; its first answer establishes it. */
  private void reverseTcpState(int flow, int tcpFlags) {
    if ((tcpFlags & (Tcp.FIN | Tcp.RST)) != 0) {
      flows.state(flow, ConnTrack.TCP_CLOSING);
    } else if (flows.state(flow) == ConnTrack.TCP_OPENING) {
      flows.state(flow, ConnTrack.TCP_ESTABLISHED); // the backend answered
    }
  }

  /** Whether a packet whose lookup gave {@code found} belongs to this burst's train, in {@code direction}. */
  private boolean continuesTrain(int found, int direction) {
    return found >= 0 && found == trainFound && (found & 1) == direction && flows.modifications() == trainAt;
  }

  /**
   * Remembers a packet's flow as this burst's train (after {@link #l2} resolved its next hop): the new
   * tuple and the checksum deltas from the old one (RFC 1624), which every packet of the flow shares.
   */
  private void startTrain(int found, long route, int src, int dst, int sport, int dport,
      int newSrc, int newDst, int newSport, int newDport) {
    int addressDelta = NatRewrite.addressDelta(src, dst, newSrc, newDst);
    trainFound = found;
    trainAt = flows.modifications();
    trainPort = (int) (route >>> 32);
    trainSrcIp = newSrc;
    trainDstIp = newDst;
    trainPorts = newSport << 16 | newDport;
    trainIpDelta = addressDelta + NatRewrite.TTL_DECREMENT_DELTA;
    trainL4Delta = addressDelta + NatRewrite.portDelta(sport, dport, newSport, newDport);
  }

  /**
   * Forwards another packet of the train: MACs, NAT rewrite, verdict. No ARP refresh check: {@link #l2}
   * made it for the train's first packet at the same clock reading, and either sent the who-has (which
   * stamps the slot, so it is not due again before the retry interval) or found it not due, or had no
   * extra frame left (and the burst's extra frames only run out further).
   */
  private void trainOut(PacketBurst burst, int i, PacketBuffer buf, int l3, int protocol, int ttlWord) {
    NatRewrite.setMacs(buf, trainOurMac, trainMac);
    trainRewrite(buf, l3, burst.l4[i], protocol, ttlWord);
    burst.verdict[i] = trainPort;
  }

  private void trainRewrite(PacketBuffer buf, int l3, int l4, int protocol, int ttlWord) {
    NatRewrite.forward(buf, l3, l4, protocol, ttlWord, trainSrcIp, trainDstIp, trainPorts, trainIpDelta, trainL4Delta);
  }

  /** Picks backend, routes and SNAT for a new flow and tracks it; -1 (packet dropped) when it cannot. */
  private int open(PacketBurst burst, int i, GatewayConfig config, long now,
      int src, int dst, int sport, int dport, int protocol) {
    int vip = burst.vip[i];
    long hash = MaglevTable.hash5(src, dst, sport, dport, protocol);
    int backend = config.maglev(vip).lookup(hash);
    if (backend < 0) {
      burst.drop(i, DropReason.NO_BACKEND, drops);
      return -1;
    }
    int backendIp = config.backendIp(vip, backend);
    int backendPort = config.backendPort(vip, backend);
    long toBackend = config.route(backendIp);
    long toClient = config.route(src);
    if (toBackend < 0 || toClient < 0) {
      burst.drop(i, DropReason.NO_ROUTE, drops);
      return -1;
    }
    int snat = config.snatFor((int) (toBackend >>> 32));
    int snatPort = snatPort(backendIp, backendPort, snat, protocol, hash);
    if (snatPort < 0) {
      burst.drop(i, DropReason.SNAT_EXHAUSTED, drops);
      return -1;
    }
    int state = protocol == Ipv4.PROTO_TCP ? ConnTrack.TCP_OPENING : ConnTrack.UDP;
    int flow = flows.create(src, sport, dst, dport, protocol, backendIp, backendPort, snat, snatPort, state, now);
    if (flow < 0) {
      burst.drop(i, DropReason.CONNTRACK_FULL, drops);
      return -1;
    }
    flows.routes(flow, toBackend, toClient);
    return flow;
  }

  /**
   * A SNAT port whose return tuple {@code backend:port → snat:p} is not tracked: ports are unique
   * per backend (what the return path needs), not globally, so one SNAT address serves
   * (range × backends) flows. Starts at a hash-chosen port and probes a bounded number.
   */
  private int snatPort(int backendIp, int backendPort, int snat, int protocol, long hash) {
    // This shard's ports: first, first + shards, ... up to the range's end.
    int first = limits.snatPortLow() + ((shard - limits.snatPortLow()) & shardMask);
    if (first > limits.snatPortHigh()) {
      return -1;
    }
    int step = shardMask + 1;
    int range = (limits.snatPortHigh() - first) / step + 1;
    int offset = (int) (((hash & 0xFFFF_FFFFL) * range) >>> 32);
    for (int k = 0, probes = Math.min(range, SNAT_PROBES); k < probes; k++) {
      int port = first + offset * step;
      if (flows.lookup(backendIp, snat, backendPort, port, protocol) < 0) {
        return port;
      }
      if (++offset == range) {
        offset = 0;
      }
    }
    return -1;
  }

  private void toClient(PacketBurst burst, int i, GatewayConfig config, long now, int found) {
    PacketBuffer buf = burst.packet(i);
    int protocol = burst.protocol[i];
    boolean train = continuesTrain(found, ConnTrack.REVERSE);
    if (!train && (found < 0 || (found & 1) != ConnTrack.REVERSE || flows.isExpired(found >> 1, now))) {
      burst.drop(i, DropReason.NO_FLOW, drops);
      return;
    }
    int l3 = burst.l3[i];
    int ttlWord = buf.getInt(l3 + Ipv4.TTL); // TTL, protocol, checksum
    if (ttlWord >>> 24 <= 1) {
      burst.drop(i, DropReason.TTL_EXPIRED, drops);
      return;
    }
    int flow = found >> 1;
    if (train) {
      if (protocol == Ipv4.PROTO_TCP) {
        reverseTcpState(flow, burst.flags[i]);
      }
      trainOut(burst, i, buf, l3, protocol, ttlWord);
      return;
    }
    flows.touch(flow, now);
    if (protocol == Ipv4.PROTO_TCP) {
      reverseTcpState(flow, burst.flags[i]);
    }
    long route = flows.routeReverse(flow);
    if (!l2(burst, i, buf, config, route, now)) {
      return;
    }
    startTrain(found, route, burst.srcIp[i], burst.dstIp[i], burst.srcPort[i], burst.dstPort[i],
        flows.vipIp(flow), flows.clientIp(flow), flows.vipPort(flow), flows.clientPort(flow));
    trainRewrite(buf, l3, burst.l4[i], protocol, ttlWord);
    burst.verdict[i] = trainPort;
  }

  /** Writes the MACs for {@code route}; false (packet dropped, who-has sent) when the next hop is unresolved. */
  private boolean l2(PacketBurst burst, int i, PacketBuffer buf, GatewayConfig config, long route, long now) {
    int port = (int) (route >>> 32);
    int nextHop = (int) route;
    long ourMac = config.mac(port);
    if (ourMac < 0) {
      burst.drop(i, DropReason.NO_ROUTE, drops); // the port left the config since the flow began
      return false;
    }
    int slot = memoSlot;
    if (slot < 0 || memoHop != nextHop) {
      slot = arp.find(nextHop);
      memoHop = nextHop;
      memoSlot = slot;
    }
    long mac = slot < 0 ? -1 : arp.macAt(slot);
    if (mac < 0) {
      memoSlot = -1;
      trainFound = -1; // a who-has may take an ARP slot over
      if (burst.extraCount() < PacketBurst.MAX_EXTRA && arp.shouldRequest(nextHop, now, arpRetryNanos)) {
        LocalReplies.arpRequest(burst.claimExtra(port), ourMac, config.ownAddress(port), nextHop);
      }
      burst.drop(i, DropReason.ARP_UNRESOLVED, drops);
      return false;
    }
    if (burst.extraCount() < PacketBurst.MAX_EXTRA
        && arp.shouldRefreshAt(slot, now, arpReachableNanos, arpRetryNanos)) {
      LocalReplies.arpRequest(burst.claimExtra(port), ourMac, config.ownAddress(port), nextHop);
    }
    NatRewrite.setMacs(buf, ourMac, mac);
    trainOurMac = ourMac;
    trainMac = mac;
    return true;
  }

  private void arp(PacketBurst burst, int i, GatewayConfig config, long now) {
    PacketBuffer buf = burst.packet(i);
    int l3 = burst.l3[i];
    int rxPort = burst.rxPort();
    int sender = burst.srcIp[i];
    boolean forUs = config.answersArp(burst.dstIp[i], rxPort);
    memoSlot = -1; // the table may change below
    trainFound = -1;
    // RFC 826's merge rule: refresh a known sender; add a new one only when the packet is for us.
    if (forUs || arp.contains(sender)) {
      arp.learn(sender, buf.getMac(l3 + Arp.SHA), now);
    }
    if (!forUs) {
      burst.drop(i, DropReason.ARP_NOT_FOR_US, drops);
    } else if (burst.flags[i] == Arp.OP_REQUEST) {
      LocalReplies.arpReply(buf, l3, config.mac(rxPort));
      burst.verdict[i] = rxPort;
    } else {
      burst.verdict[i] = PacketBurst.CONSUMED;
    }
  }

  public DropCounters drops() {
    return drops;
  }

  /** Flows tracked now, IPv4 and IPv6 (single-writer value: exact on the stage's thread, approximate elsewhere). */
  public int trackedFlows() {
    return flows.size() + ipv6.trackedFlows();
  }

  /** IPv6 flows this stage can track; 0 while it has no IPv6 flow table (no config with IPv6 VIPs yet). */
  int ipv6FlowCapacity() {
    return ipv6.flowCapacity();
  }

  /** Test hook: pre-resolves an IPv6 next hop as if a Neighbor Advertisement had been learnt. */
  void learnNeighbour(Ipv6.Address ip, long mac, long now) {
    ipv6.learnNeighbour(ip.hi(), ip.lo(), mac, now);
  }

  /** Test hook: pre-resolves a next hop as if an ARP reply had been learnt. */
  void learnArp(int ip, long mac, long now) {
    arp.learn(ip, mac, now);
  }
}
