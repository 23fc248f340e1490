package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/**
 * The gateway pipeline's event: one RX burst in, one verdict per packet out. Pre-allocated once
 * per ring slot (or per inline pipeline) and reused for every burst; nothing here is allocated per
 * packet.
 *
 * <h2>Who writes what</h2>
 * <ol>
 *   <li><b>The I/O loop (producer), in its {@code EventFiller}:</b> re-points {@link #packet(int)}
 *       flyweights {@code 0..n-1} at the received mbufs, then calls {@link #reset(int, int)} with
 *       the count and the RX port id. It must not touch the event again until the last stage ran.
 *   <li><b>{@link ParseStage}, {@link ClassifyStage}, {@link ForwardStage}</b> (in that order, one
 *       thread at a time): parse into the per-packet metadata arrays, rewrite packets in place and
 *       set each packet's {@link #verdict(int)}. A packet's bytes may be rewritten in place (NAT,
 *       an ARP reply, an ICMP echo reply); its length does not change.
 *   <li><b>The I/O loop's TX step</b> (a last stage the loop appends, or — inline — right after
 *       {@code tryPublish} returns): for each packet {@code i < count()}, a verdict ≥ 0 is the port
 *       id to transmit on; {@link #DROP} and {@link #CONSUMED} mean free the mbuf ({@link
 *       #dropReason(int)} says why for drops; the stage has already counted it);
 *       {@link #TO_EXCEPTION} means hand it to the kernel tap port unchanged. Then, for each
 *       {@code j < extraCount()}, allocate an mbuf, copy {@code extra(j).length()} bytes out of
 *       {@link #extra(int)} with {@link PacketBuffer#getBytes} and transmit it on {@link
 *       #extraPort(int)} (ARP who-has requests and IPv6 Neighbor Solicitations the gateway originates; at most {@link #MAX_EXTRA}
 *       per burst).
 * </ol>
 *
 * <h2>Wirings</h2>
 * Inline, the filler's event is the one the stages ran on: read verdicts right after {@code
 * tryPublish} returns, or append a TX stage ({@link GatewayStages#stages(java.util.function.Supplier)}).
 * On a Disruptor ring the TX stage is the only way: it runs after {@link ForwardStage} on the
 * ring's last thread. With several RX queues, give each its own pipeline from {@link
 * GatewayStages#stagesForQueue} and steer return traffic by SNAT port (see there).
 *
 * <p>Threading: handed from stage to stage through the pipeline (the ring's sequence barriers give
 * the happens-before); never touched by two threads at once.
 */
public final class PacketBurst {
  /** Verdict: free the packet; {@link #dropReason(int)} says why. */
  public static final int DROP = -1;
  /** Verdict: deliver to the host kernel through the exception (TAP) port, bytes unchanged. */
  public static final int TO_EXCEPTION = -2;
  /** Verdict: the gateway used the packet (e.g. learnt from an ARP reply): free it, not a drop. */
  public static final int CONSUMED = -3;
  /** Verdict before any stage decided; never left set after {@link ForwardStage}. */
  static final int PENDING = -4;

  public static final int DEFAULT_MAX_BURST = 64;
  public static final int MAX_EXTRA = 4;
  /** Frames the gateway originates are minimum-size Ethernet frames (ARP), or a Neighbor Solicitation. */
  static final int EXTRA_FRAME_SIZE = Ethernet.MIN_FRAME;
  /** The byte arrays behind the extra slots: room for an IPv6 Neighbor Solicitation with its source MAC option. */
  static final int EXTRA_FRAME_CAPACITY = NeighbourDiscovery.SOLICITATION_FRAME;

  // What the classifier decided the packet is; the forward stage acts on it.
  static final int KIND_NONE = 0;
  static final int KIND_ARP = 1;
  static final int KIND_IPV4 = 2;
  static final int KIND_TO_VIP = 3;
  static final int KIND_RETURN = 4;
  /** A well-formed IPv6 packet: {@link ForwardStage} hands it to its {@link Ipv6Forwarder} (classify and forward). */
  static final int KIND_IPV6 = 5;

  private final PacketBuffer[] packets;
  private final PacketBuffer[] extras = new PacketBuffer[MAX_EXTRA];
  private final int[] extraPorts = new int[MAX_EXTRA];
  private int count;
  private int rxPort;
  private int extraCount;

  // Verdicts.
  final int[] verdict;
  final byte[] dropReason;

  // Parsed metadata, valid for packets whose verdict is still PENDING.
  final int[] kind;
  final int[] l3;
  final int[] l4;
  final int[] protocol;
  final int[] srcIp;
  final int[] dstIp;
  final int[] srcPort;
  final int[] dstPort;
  /** TCP flags, or the ICMP type, or the ARP operation. */
  final int[] flags;
  /** Index of the VIP in {@link #config} for KIND_TO_VIP. */
  final int[] vip;
  /**
   * KIND_IPV6 only: the addresses, as high and low 64 bits. Apart from the IPv4 arrays, which keep their
   * layout; an IPv6 packet shares only {@link #l3}, {@link #l4}, {@link #protocol}, the ports and {@link #flags}.
   */
  final long[] srcHi6;
  final long[] srcLo6;
  final long[] dstHi6;
  final long[] dstLo6;

  /** The configuration every stage uses for this burst: taken once, by {@link ParseStage}. */
  GatewayConfig config;
  /**
   * The burst's clock reading (nanoseconds), taken once by {@link ParseStage}: idle timeouts, the SYN
   * limiter and ARP ages all use it. One reading per burst instead of one per stage (a vDSO call is
   * about 1% of the poller's time per reading on the pcap benchmark).
   */
  long now;

  public PacketBurst() {
    this(DEFAULT_MAX_BURST);
  }

  public PacketBurst(int maxBurst) {
    if (maxBurst <= 0) {
      throw new IllegalArgumentException("burst size " + maxBurst + " must be positive");
    }
    packets = new PacketBuffer[maxBurst];
    for (int i = 0; i < maxBurst; i++) {
      packets[i] = new PacketBuffer();
    }
    for (int i = 0; i < MAX_EXTRA; i++) {
      extras[i] = PacketBuffer.ofBytes(new byte[EXTRA_FRAME_CAPACITY], EXTRA_FRAME_SIZE);
    }
    verdict = new int[maxBurst];
    dropReason = new byte[maxBurst];
    kind = new int[maxBurst];
    l3 = new int[maxBurst];
    l4 = new int[maxBurst];
    protocol = new int[maxBurst];
    srcIp = new int[maxBurst];
    dstIp = new int[maxBurst];
    srcPort = new int[maxBurst];
    dstPort = new int[maxBurst];
    flags = new int[maxBurst];
    vip = new int[maxBurst];
    srcHi6 = new long[maxBurst];
    srcLo6 = new long[maxBurst];
    dstHi6 = new long[maxBurst];
    dstLo6 = new long[maxBurst];
  }

  /** Producer: starts a burst of {@code count} packets (already re-pointed) received on {@code rxPort}. */
  public void reset(int count, int rxPort) {
    if (count < 0 || count > packets.length) {
      throw new IllegalArgumentException("burst of " + count + " exceeds capacity " + packets.length);
    }
    this.count = count;
    this.rxPort = rxPort;
    this.extraCount = 0;
    for (int i = 0; i < count; i++) { // dropReason is written with every DROP verdict, and read only then
      verdict[i] = PENDING;
      kind[i] = KIND_NONE;
    }
  }

  /** The reusable flyweight for slot {@code i}: the producer re-points it at the i-th mbuf. */
  public PacketBuffer packet(int i) {
    return packets[i];
  }

  /** Replaces slot {@code i}'s flyweight (tests and tools that already own PacketBuffers). */
  public void setPacket(int i, PacketBuffer buffer) {
    packets[i] = buffer;
  }

  public int count() {
    return count;
  }

  public int capacity() {
    return packets.length;
  }

  public int rxPort() {
    return rxPort;
  }

  /** A port id ≥ 0, or {@link #DROP}, {@link #TO_EXCEPTION}, {@link #CONSUMED}. */
  public int verdict(int i) {
    return verdict[i];
  }

  /** The reason of a {@link #DROP} verdict, else null. */
  public DropReason dropReason(int i) {
    return verdict[i] == DROP ? DropReason.ofOrdinal(dropReason[i]) : null;
  }

  /** Frames the gateway originated in this burst (ARP requests); see the class comment. */
  public int extraCount() {
    return extraCount;
  }

  public PacketBuffer extra(int j) {
    return extras[j];
  }

  public int extraPort(int j) {
    return extraPorts[j];
  }

  /** A free extra slot sized for a minimum frame, or null when this burst already has {@link #MAX_EXTRA}. */
  PacketBuffer claimExtra(int port) {
    return claimExtra(port, EXTRA_FRAME_SIZE);
  }

  /** A free extra slot of {@code length} ≤ {@link #EXTRA_FRAME_CAPACITY} bytes, or null when none is left. */
  PacketBuffer claimExtra(int port, int length) {
    if (extraCount == MAX_EXTRA) {
      return null;
    }
    extraPorts[extraCount] = port;
    PacketBuffer frame = extras[extraCount++];
    frame.length(length);
    return frame;
  }

  void drop(int i, DropReason reason, DropCounters counters) {
    verdict[i] = DROP;
    dropReason[i] = (byte) reason.ordinal();
    counters.increment(reason);
  }
}
