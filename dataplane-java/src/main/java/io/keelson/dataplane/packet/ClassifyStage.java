package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.pipeline.Stage;

/**
 * Second gateway stage: decides what each parsed IPv4 packet is.
 * <ul>
 *   <li>To a VIP's address, port and protocol: {@code KIND_TO_VIP}. Packets that open a flow (a TCP
 *       SYN; every UDP packet, UDP having no opening marker) pass the ACL first, and TCP SYNs the
 *       per-source SYN rate limit.
 *   <li>To a SNAT address on a port in the SNAT range: return traffic ({@code KIND_RETURN}); the
 *       forward stage matches it against connection tracking.
 *   <li>ICMP echo to any gateway address (own, VIP, SNAT): answered in place, back on the RX port.
 *   <li>Anything else for the gateway's own addresses: {@link PacketBurst#TO_EXCEPTION} (the kernel).
 *   <li>Otherwise dropped with the precise reason.
 * </ul>
 * ARP is left to {@link ForwardStage}, which owns the ARP table it learns into.
 *
 * <p>Threading: single writer of its limiter and counters; one thread at a time (see {@link Stage}).
 */
public final class ClassifyStage implements Stage<PacketBurst> {
  private final DropCounters drops = new DropCounters();
  private SynRateLimiter limiter;
  private GatewayLimits limits;


  /**
   * The last (address, port, protocol) this burst looked up as a VIP and the answer: a burst's packets
   * mostly go to a few VIPs, often one, so most skip the hash. -1 (no key) at the start of every burst,
   * as the config may change between bursts.
   */
  private long memoKey = -1;
  private int memoVip;

  @Override
  public void onEvent(PacketBurst burst) {
    GatewayConfig config = burst.config;
    if (config.limits() != limits) {
      configure(config.limits());
    }
    long now = burst.now;
    int rxPort = burst.rxPort();
    memoKey = -1;
    for (int i = 0, n = burst.count(); i < n; i++) {
      if (burst.verdict[i] == PacketBurst.PENDING && burst.kind[i] == PacketBurst.KIND_IPV4) {
        classify(burst, i, config, rxPort, now);
      }
    }
  }

  private void configure(GatewayLimits next) {
    if (limiter == null || limits.synSources() != next.synSources()) {
      limiter = new SynRateLimiter(next.synSources(), next.synPerSecond(), next.synBurst());
    } else {
      limiter.rate(next.synPerSecond(), next.synBurst());
    }
    limits = next;
  }

  private void classify(PacketBurst burst, int i, GatewayConfig config, int rxPort, long now) {
    int protocol = burst.protocol[i];
    int dst = burst.dstIp[i];
    boolean l4 = protocol == Ipv4.PROTO_TCP || protocol == Ipv4.PROTO_UDP;
    if (l4) {
      long key = GatewayConfig.vipKey(dst, burst.dstPort[i], protocol);
      int vip;
      if (key == memoKey) {
        vip = memoVip;
      } else {
        vip = config.vipIndex(dst, burst.dstPort[i], protocol);
        memoKey = key;
        memoVip = vip;
      }
      if (vip >= 0) {
        boolean tcp = protocol == Ipv4.PROTO_TCP;
        boolean opening = !tcp || (burst.flags[i] & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN;
        if (opening) {
          if (!config.aclAllows(burst.srcIp[i], burst.dstPort[i])) {
            burst.drop(i, DropReason.ACL_DENIED, drops);
            return;
          }
          if (tcp && !limiter.tryAcquire(burst.srcIp[i], now)) {
            burst.drop(i, DropReason.SYN_RATE_LIMITED, drops);
            return;
          }
        }
        burst.kind[i] = PacketBurst.KIND_TO_VIP;
        burst.vip[i] = vip;
        return;
      }
      if (config.isSnatAddress(dst) && config.inSnatRange(burst.dstPort[i])) {
        burst.kind[i] = PacketBurst.KIND_RETURN;
        return;
      }
    }
    boolean own = config.isOwnAddress(dst);
    if (!own && !config.isVipAddress(dst) && !config.isSnatAddress(dst)) {
      burst.drop(i, DropReason.NOT_FOR_US, drops);
      return;
    }
    if (protocol == Ipv4.PROTO_ICMP && burst.flags[i] == Icmp.ECHO_REQUEST) {
      PacketBuffer buf = burst.packet(i);
      LocalReplies.echoReply(buf, burst.l3[i], burst.l4[i], config.mac(rxPort));
      burst.verdict[i] = rxPort;
      return;
    }
    toKernelOrDrop(burst, i, config, own, protocol == Ipv4.PROTO_ICMP, l4, drops);
  }

  /**
   * For a packet to a gateway address that is neither forwarded nor answered (either IP version): the
   * kernel's when the address is the node's own (or dropped without an exception port), else dropped
   * with why no VIP took it.
   */
  static void toKernelOrDrop(PacketBurst burst, int i, GatewayConfig config, boolean own, boolean icmp, boolean l4,
      DropCounters drops) {
    if (own) {
      if (config.exceptionPath()) {
        burst.verdict[i] = PacketBurst.TO_EXCEPTION;
      } else {
        burst.drop(i, DropReason.NO_EXCEPTION_PORT, drops);
      }
      return;
    }
    DropReason reason = icmp ? DropReason.ICMP_UNSUPPORTED
        : l4 ? DropReason.NO_VIP_LISTENER : DropReason.UNSUPPORTED_PROTOCOL;
    burst.drop(i, reason, drops);
  }

  public DropCounters drops() {
    return drops;
  }
}
