package io.keelson.dataplane.packet;

import java.time.Duration;

/**
 * The gateway's bounds and timers. Immutable.
 *
 * @param conntrackCapacity    flows tracked at most; new flows beyond it are dropped ({@link DropReason#CONNTRACK_FULL})
 * @param tcpEstablished       idle timeout of an established TCP flow
 * @param tcpTransitory        idle timeout of a TCP flow still opening (SYN seen, no answer yet)
 * @param tcpClosing           idle timeout after a FIN or RST
 * @param udp                  idle timeout of a UDP flow
 * @param sweepSlice           most flow slots examined for expiry in one burst (bounds the per-burst cost; the
 *                             sweep is paced to one pass over the flows in use per second, see SweepPacer)
 * @param synPerSecond         SYNs per second allowed per source address
 * @param synBurst             SYNs a quiet source may send at once
 * @param synSources           source addresses rate-limited at once (bounded table; oldest replaced)
 * @param snatPortLow          first SNAT port (inclusive)
 * @param snatPortHigh         last SNAT port (inclusive)
 * @param arpCapacity          next hops remembered at most
 * @param arpRetry             minimum time between two who-has for the same address
 * @param arpReachable         age after which a learnt MAC is re-confirmed with a who-has (it stays in use meanwhile)
 * @param maglevTableSize      prime Maglev table size per VIP
 */
public record GatewayLimits(
    int conntrackCapacity,
    Duration tcpEstablished,
    Duration tcpTransitory,
    Duration tcpClosing,
    Duration udp,
    int sweepSlice,
    int synPerSecond,
    int synBurst,
    int synSources,
    int snatPortLow,
    int snatPortHigh,
    int arpCapacity,
    Duration arpRetry,
    Duration arpReachable,
    int maglevTableSize) {

  public GatewayLimits {
    positive("conntrackCapacity", conntrackCapacity);
    positive("sweepSlice", sweepSlice);
    positive("synPerSecond", synPerSecond);
    positive("synBurst", synBurst);
    positive("synSources", synSources);
    positive("arpCapacity", arpCapacity);
    if (snatPortLow < 1 || snatPortHigh > 65_535 || snatPortLow > snatPortHigh) {
      throw new IllegalArgumentException(
          "gateway limits: snat port range " + snatPortLow + "-" + snatPortHigh + " must lie within 1-65535");
    }
    for (Duration d : new Duration[] {tcpEstablished, tcpTransitory, tcpClosing, udp, arpRetry, arpReachable}) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("gateway limits: timeouts must be positive, got " + d);
      }
    }
  }

  private static void positive(String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException("gateway limits: " + field + " must be positive, got " + value);
    }
  }

  /**
   * Defaults in the spirit of Linux conntrack and IPVS. 262,144 flows cost about 41 MB per forwarding
   * stage (each inline pipeline has its own); raise it for a large gateway.
   */
  public static GatewayLimits defaults() {
    return new GatewayLimits(
        1 << 18,
        Duration.ofMinutes(15),
        Duration.ofSeconds(30),
        Duration.ofSeconds(10),
        Duration.ofSeconds(60),
        64,
        200,
        400,
        1 << 16,
        20_000,
        60_999,
        4096,
        Duration.ofSeconds(1),
        Duration.ofSeconds(60),
        65_537);
  }

  public GatewayLimits withConntrackCapacity(int capacity) {
    return new GatewayLimits(capacity, tcpEstablished, tcpTransitory, tcpClosing, udp, sweepSlice,
        synPerSecond, synBurst, synSources, snatPortLow, snatPortHigh, arpCapacity, arpRetry, arpReachable, maglevTableSize);
  }

  public GatewayLimits withSynRate(int perSecond, int burst) {
    return new GatewayLimits(conntrackCapacity, tcpEstablished, tcpTransitory, tcpClosing, udp, sweepSlice,
        perSecond, burst, synSources, snatPortLow, snatPortHigh, arpCapacity, arpRetry, arpReachable, maglevTableSize);
  }

  public GatewayLimits withSnatPorts(int low, int high) {
    return new GatewayLimits(conntrackCapacity, tcpEstablished, tcpTransitory, tcpClosing, udp, sweepSlice,
        synPerSecond, synBurst, synSources, low, high, arpCapacity, arpRetry, arpReachable, maglevTableSize);
  }

  public GatewayLimits withTimeouts(Duration established, Duration transitory, Duration closing, Duration udpIdle) {
    return new GatewayLimits(conntrackCapacity, established, transitory, closing, udpIdle, sweepSlice,
        synPerSecond, synBurst, synSources, snatPortLow, snatPortHigh, arpCapacity, arpRetry, arpReachable, maglevTableSize);
  }

  public GatewayLimits withSweepSlice(int slots) {
    return new GatewayLimits(conntrackCapacity, tcpEstablished, tcpTransitory, tcpClosing, udp, slots,
        synPerSecond, synBurst, synSources, snatPortLow, snatPortHigh, arpCapacity, arpRetry, arpReachable, maglevTableSize);
  }
}
