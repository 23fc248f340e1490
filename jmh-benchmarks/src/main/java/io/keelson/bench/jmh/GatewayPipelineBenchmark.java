package io.keelson.bench.jmh;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.Checksums;
import io.keelson.dataplane.packet.ClassifyStage;
import io.keelson.dataplane.packet.ParseStage;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.GatewayConfig.Backend;
import io.keelson.dataplane.packet.GatewayConfig.Interface;
import io.keelson.dataplane.packet.GatewayStages;
import io.keelson.dataplane.packet.GatewayTables;
import io.keelson.dataplane.packet.Ipv4;
import io.keelson.dataplane.packet.PacketBurst;
import io.keelson.dataplane.packet.Tcp;
import io.keelson.dataplane.pipeline.EventFiller;
import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineMode;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A 32-packet RX burst through parse → classify → forward on the inline pipeline, in ns per packet:
 * {@link #clientBurst} is 32 client → VIP segments of established flows (port 0), {@link
 * #backendBurst} 32 backend → SNAT replies (port 1): real headers, conntrack hits, full-NAT rewrite,
 * TTL and incremental checksums, L2 rewrite from the ARP table. The gateway rewrites packets in
 * place, so every invocation first restores the original bytes; {@link #restoreOnly} measures that
 * copy alone, to subtract. {@code memory=native} puts the packets in native memory, as mbufs are on
 * the packet path; {@code heap} keeps them in byte arrays, as the unit tests do. {@code train} is how
 * many back-to-back packets each flow has in the burst: 1 (32 flows), or 8 (4 flows), the pcap
 * capture's shape ({@code FlowCapture}: flows of 8 packets, each flow's packets back to back).
 * Its fork runs with the gateway's JVM flags ({@link GatewayJvmFlags}), as {@code bin/keelson gateway} does.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1) // plus bin/lib/gateway-jvm.flags, which the launcher appends (see GatewayJvmFlags)
@GatewayJvmFlags
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class GatewayPipelineBenchmark {
  private static final int BURST = 32;
  private static final long GW0 = 0x02_00_00_00_00_10L;
  private static final long GW1 = 0x02_00_00_00_00_11L;
  private static final long ROUTER = 0x02_00_00_00_0F_FEL;
  private static final int VIP = Ipv4.parse("192.0.2.100");
  private static final int SNAT = Ipv4.parse("10.1.0.2");

  private Pipeline<PacketBurst> pipeline;
  private GatewayStages stages;
  /** [0] client → VIP on port 0, [1] backend → SNAT on port 1. */
  private final byte[][][] originals = new byte[2][BURST][];
  private final byte[][][] frames = new byte[2][BURST][];
  private final PacketBuffer[][] buffers = new PacketBuffer[2][BURST];
  private final EventFiller<PacketBurst, GatewayPipelineBenchmark> filler = GatewayPipelineBenchmark::fill;
  private int direction;
  private ParseStage parse;
  private ClassifyStage classify;
  private final PacketBurst staged = new PacketBurst(BURST);
  private Arena arena;

  /** Where the packets live: "native" (the packet path's shape) or "heap" (tests). */
  @Param({"native", "heap"})
  public String memory;

  /** Back-to-back packets per flow in a burst: 1 (every packet its own flow) or 8 (the capture's trains). */
  @Param({"1", "8"})
  public int train;

  @Setup
  public void setUp() {
    GatewayConfig config = GatewayConfig.builder()
        .addInterface(Interface.of(0, "192.0.2.1/24", "02:00:00:00:00:10", "192.0.2.254"))
        .addInterface(Interface.of(1, "10.1.0.1/24", "02:00:00:00:00:11", null))
        .addVip("web", "192.0.2.100", 80, Ipv4.PROTO_TCP,
            Backend.of("10.1.0.11", 8080, 1), Backend.of("10.1.0.12", 8080, 1),
            Backend.of("10.1.0.13", 8080, 1), Backend.of("10.1.0.14", 8080, 1))
        .addSnatAddress("10.1.0.2")
        .build();
    arena = Arena.ofShared();
    stages = new GatewayStages(new GatewayTables(config), System::nanoTime);
    pipeline = stages.pipeline(PipelineMode.INLINE, "bench", BURST, 8, null);
    GatewayTables tables = new GatewayTables(config);
    parse = new ParseStage(tables, System::nanoTime);
    classify = new ClassifyStage();

    // Teach neighbours through real ARP replies, then open the flows with SYNs and learn their NAT.
    for (int b = 11; b <= 14; b++) {
      send(1, arpReply(0x02_00_00_00_B0_00L | b, Ipv4.parse("10.1.0." + b), GW1, Ipv4.parse("10.1.0.1")));
    }
    send(0, arpReply(ROUTER, Ipv4.parse("192.0.2.254"), GW0, Ipv4.parse("192.0.2.1")));
    int[] backends = new int[BURST];
    int[] snatPorts = new int[BURST];
    for (int i = 0; i < BURST; i++) {
      int client = Ipv4.parse("198.51.100." + (i + 1));
      byte[] syn = tcp(ROUTER, GW0, client, VIP, 40_000 + i, 80, Tcp.SYN, 0);
      send(0, syn);
      PacketBuffer out = PacketBuffer.ofBytes(syn, syn.length);
      if (out.getInt(14 + 12) != SNAT) {
        throw new IllegalStateException("setup SYN " + i + " was not forwarded");
      }
      backends[i] = out.getInt(14 + 16);
      snatPorts[i] = out.getShort(34);
    }
    for (int i = 0; i < BURST; i++) {
      int f = i / train * train; // packets of a train share the flow of its first packet
      int client = Ipv4.parse("198.51.100." + (f + 1));
      int backend = backends[f];
      originals[0][i] = tcp(ROUTER, GW0, client, VIP, 40_000 + f, 80, Tcp.ACK | Tcp.PSH, 64);
      originals[1][i] = tcp(0x02_00_00_00_B0_00L | (backend & 0xFF), GW1, backend, SNAT, 8080, snatPorts[f], Tcp.ACK, 512);
    }
    for (int d = 0; d < 2; d++) {
      for (int i = 0; i < BURST; i++) {
        frames[d][i] = originals[d][i].clone();
        buffers[d][i] = memory.equals("native")
            ? PacketBuffer.ofNativeCopy(arena, frames[d][i], frames[d][i].length)
            : PacketBuffer.ofBytes(frames[d][i], frames[d][i].length);
      }
    }
  }

  @TearDown
  public void tearDown() {
    pipeline.close();
    arena.close();
    long[] drops = stages.dropCounts();
    for (long d : drops) {
      if (d != 0) {
        throw new IllegalStateException("benchmark traffic was dropped: " + java.util.Arrays.toString(drops));
      }
    }
  }

  private static void fill(PacketBurst burst, GatewayPipelineBenchmark self) {
    PacketBuffer[] source = self.buffers[self.direction];
    for (int i = 0; i < BURST; i++) {
      burst.setPacket(i, source[i]);
    }
    burst.reset(BURST, self.direction);
  }

  private int run(int d) {
    restore(d);
    direction = d;
    pipeline.tryPublish(filler, this);
    return buffers[d][0].getByte(30);
  }

  private void restore(int d) {
    byte[][] source = originals[d];
    PacketBuffer[] target = buffers[d];
    for (int i = 0; i < BURST; i++) {
      target[i].putBytes(0, source[i], 0, source[i].length);
    }
  }

  @Benchmark
  @OperationsPerInvocation(BURST)
  public int clientBurst() {
    return run(0);
  }

  @Benchmark
  @OperationsPerInvocation(BURST)
  public int backendBurst() {
    return run(1);
  }

  /** Breakdown: only header validation (packets are not modified, so no restore). */
  @Benchmark
  @OperationsPerInvocation(BURST)
  public int parseOnly() {
    direction = 0;
    fill(staged, this);
    parse.onEvent(staged);
    return staged.verdict(0);
  }

  /** Breakdown: validation and classification (VIP lookup, ACL, SYN limiter untouched by ACKs). */
  @Benchmark
  @OperationsPerInvocation(BURST)
  public int parseAndClassify() {
    direction = 0;
    fill(staged, this);
    parse.onEvent(staged);
    classify.onEvent(staged);
    return staged.verdict(0);
  }

  /** The per-invocation restore copy alone (client burst's frames). */
  @Benchmark
  @OperationsPerInvocation(BURST)
  public int restoreOnly() {
    restore(0);
    return buffers[0][0].getByte(30);
  }

  private void send(int rxPort, byte[] frame) {
    PacketBuffer buf = PacketBuffer.ofBytes(frame, frame.length);
    pipeline.tryPublish((burst, b) -> {
      burst.setPacket(0, b);
      burst.reset(1, rxPort);
    }, buf);
  }

  static byte[] tcp(long srcMac, long dstMac, int src, int dst, int sport, int dport, int flags, int payload) {
    int ipLength = 20 + 20 + payload;
    ByteBuffer b = ByteBuffer.allocate(Math.max(60, 14 + ipLength));
    b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac);
    b.putShort((short) 0x0800);
    b.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) 1).putShort((short) 0x4000);
    b.put((byte) 64).put((byte) 6).putShort((short) 0).putInt(src).putInt(dst);
    b.putShort((short) sport).putShort((short) dport).putInt(1).putInt(1).put((byte) 0x50).put((byte) flags)
        .putShort((short) 65535).putShort((short) 0).putShort((short) 0);
    byte[] frame = b.array();
    PacketBuffer buf = PacketBuffer.ofBytes(frame, frame.length);
    buf.putShort(24, Checksums.ipv4Header(buf, 14, 20));
    buf.putShort(34 + 16, Checksums.l4(buf, 14, 34, 20 + payload, 6));
    return frame;
  }

  static byte[] arpReply(long senderMac, int senderIp, long targetMac, int targetIp) {
    ByteBuffer b = ByteBuffer.allocate(60);
    b.putShort((short) (targetMac >>> 32)).putInt((int) targetMac).putShort((short) (senderMac >>> 32)).putInt((int) senderMac);
    b.putShort((short) 0x0806).putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 2);
    b.putShort((short) (senderMac >>> 32)).putInt((int) senderMac).putInt(senderIp);
    b.putShort((short) (targetMac >>> 32)).putInt((int) targetMac).putInt(targetIp);
    return b.array();
  }
}
