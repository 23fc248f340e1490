package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast path ({@link FastPath}) against the general path: the same mixed capture (ARP, SYNs, data,
 * FIN/RST, replies from backends, UDP, ICMP, malformed frames, idle gaps past the timeouts) through two
 * gateways, one with the fast path on and one with it off, must give byte-identical packets, the same
 * verdicts, drop reasons, originated frames, drop counters and tracked flows after every burst.
 */
class FastPathEquivalenceTest {
  private static final long SECOND = 1_000_000_000L;
  private static final String[] BACKENDS = {"10.1.0.11", "10.1.0.12", "10.1.0.13"};

  /** One gateway: the fused stage as the runtime builds it, over native packets. */
  private static final class Gateway {
    long now = 1_000 * SECOND;
    final GatewayStages stages;
    final FusedStages fused;

    Gateway(GatewayConfig config, boolean fast) {
      stages = new GatewayStages(new GatewayTables(config), () -> now);
      fused = stages.fusedForQueue(0, 1, fast);
    }

    PacketBurst run(Arena arena, int rxPort, List<byte[]> frames) {
      PacketBurst burst = new PacketBurst(Math.max(1, frames.size()));
      for (int i = 0; i < frames.size(); i++) {
        byte[] f = frames.get(i);
        burst.setPacket(i, PacketBuffer.ofNativeCopy(arena, f, f.length));
      }
      burst.reset(frames.size(), rxPort);
      fused.onEvent(burst);
      return burst;
    }
  }

  private record Flow(int clientPort, int[] backendAndSnatPort) {}

  @Test
  void mixedCaptureGivesIdenticalBytesVerdictsAndCountersWithAndWithoutTheFastPath() {
    GatewayLimits limits = GatewayLimits.defaults().withConntrackCapacity(256).withSweepSlice(8)
        .withTimeouts(Duration.ofSeconds(100), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(30));
    GatewayConfig config = TestGateway.builder().limits(limits).build();
    Gateway fast = new Gateway(config, true);
    Gateway general = new Gateway(config, false);
    Random random = new Random(42);
    List<Flow> flows = new ArrayList<>();
    int nextPort = 30_000;
    try (Arena arena = Arena.ofConfined()) {
      for (int round = 0; round < 400; round++) {
        int rxPort = random.nextInt(4) == 0 ? 1 : 0;
        List<byte[]> frames = new ArrayList<>();
        int size = 1 + random.nextInt(32);
        List<Flow> opened = new ArrayList<>();
        for (int k = 0; k < size; k++) {
          byte[] frame = rxPort == 1 ? backendFrame(random, flows) : clientFrame(random, flows, round);
          if (frame == null) {
            int port = nextPort++;
            Flow f = new Flow(port, new int[] {-1, -1, k});
            opened.add(f);
            frame = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.SYN)
                .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).payload(0).bytes();
          }
          frames.add(frame);
        }
        PacketBurst a = fast.run(arena, rxPort, frames);
        PacketBurst b = general.run(arena, rxPort, frames);
        assertSame(a, b, round);
        for (Flow f : opened) {
          int k = f.backendAndSnatPort()[2];
          if (a.verdict(k) >= 0) {
            PacketBuffer out = a.packet(k);
            f.backendAndSnatPort()[0] = out.getInt(14 + Ipv4.DST);
            f.backendAndSnatPort()[1] = out.getShort(34 + Tcp.SRC_PORT);
            flows.add(f);
          }
        }
        long step = switch (random.nextInt(20)) {
          case 0 -> 3 * SECOND; // past the closing timeout
          case 1 -> 6 * SECOND; // past the opening timeout
          default -> random.nextInt(1000) * 1_000L;
        };
        fast.now += step;
        general.now += step;
      }
    }
    assertThat(fast.stages.dropCounts()).isEqualTo(general.stages.dropCounts());
    assertThat(fast.stages.trackedFlows()).isEqualTo(general.stages.trackedFlows());
    assertThat(fast.fused.fastPackets()).as("packets the fast path forwarded").isGreaterThan(1000);
    assertThat(general.fused.fastPackets()).isZero();
  }

  private static void assertSame(PacketBurst a, PacketBurst b, int round) {
    assertThat(a.count()).isEqualTo(b.count());
    for (int i = 0; i < a.count(); i++) {
      String what = "round " + round + " packet " + i;
      assertThat(a.verdict(i)).as(what).isEqualTo(b.verdict(i));
      assertThat(a.dropReason(i)).as(what).isEqualTo(b.dropReason(i));
      assertThat(bytes(a.packet(i))).as(what).isEqualTo(bytes(b.packet(i)));
    }
    assertThat(a.extraCount()).as("round " + round).isEqualTo(b.extraCount());
    for (int j = 0; j < a.extraCount(); j++) {
      assertThat(a.extraPort(j)).isEqualTo(b.extraPort(j));
      assertThat(bytes(a.extra(j))).isEqualTo(bytes(b.extra(j)));
    }
  }

  private static byte[] bytes(PacketBuffer buf) {
    byte[] out = new byte[buf.length()];
    buf.getBytes(0, out, 0, out.length);
    return out;
  }

  /** A client-side frame; null asks the caller for a new flow's SYN. */
  private static byte[] clientFrame(Random random, List<Flow> flows, int round) {
    int pick = random.nextInt(100);
    if (round < 2) {
      return neighbourReply(round == 0 ? 0 : 1 + random.nextInt(BACKENDS.length), random);
    }
    if (flows.isEmpty() || pick < 8) {
      return null;
    }
    Flow f = flows.get(random.nextInt(flows.size()));
    int port = f.clientPort();
    TestPacket p;
    if (pick < 70) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.ACK | (random.nextBoolean() ? Tcp.PSH : 0))
          .payload(random.nextInt(200));
    } else if (pick < 73) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.FIN | Tcp.ACK);
    } else if (pick < 75) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.RST);
    } else if (pick < 79) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.SYN); // a SYN of a tracked tuple
    } else if (pick < 81) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.ACK).ttl(1);
    } else if (pick < 83) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 81, Tcp.ACK); // no listener
    } else if (pick < 85) {
      p = TestPacket.udp("198.51.100.7", port, TestGateway.VIP, 53).payload(20);
    } else if (pick < 87) {
      p = TestPacket.icmpEcho("198.51.100.7", TestGateway.VIP);
    } else if (pick < 89) {
      p = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.ACK).vlan(7);
    } else if (pick < 91) {
      return neighbourReply(random.nextInt(1 + BACKENDS.length), random);
    } else if (pick < 93) {
      p = TestPacket.tcp("198.51.100.7", port, "203.0.113.9", 80, Tcp.ACK); // not for us
    } else {
      byte[] bad = TestPacket.tcp("198.51.100.7", port, TestGateway.VIP, 80, Tcp.ACK)
          .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).payload(10).bytes();
      switch (random.nextInt(4)) {
        case 0 -> bad[14 + Ipv4.CHECKSUM] ^= 0x5A; // bad IPv4 checksum
        case 1 -> bad[14 + Ipv4.FLAGS_FRAGMENT] |= 0x20; // a fragment (MF), checksum now bad too
        case 2 -> bad[0] ^= 1; // not our MAC
        default -> bad = Arrays.copyOf(bad, 50); // truncated TCP header
      }
      return bad;
    }
    return p.macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
  }

  /** A backend-side frame: replies of tracked flows, mostly data. */
  private static byte[] backendFrame(Random random, List<Flow> flows) {
    if (flows.isEmpty() || random.nextInt(30) == 0) {
      return neighbourReply(1 + random.nextInt(BACKENDS.length), random);
    }
    Flow f = flows.get(random.nextInt(flows.size()));
    int backend = f.backendAndSnatPort()[0];
    int snatPort = f.backendAndSnatPort()[1];
    int pick = random.nextInt(100);
    int flags = pick < 10 ? Tcp.SYN | Tcp.ACK : pick < 13 ? Tcp.FIN | Tcp.ACK : pick < 15 ? Tcp.RST : Tcp.ACK;
    return TestPacket.tcp(Ipv4.format(backend), 8080, TestGateway.SNAT, snatPort, flags)
        .macs(TestGateway.backendMac(backend), TestPacket.GW_MAC_1).payload(random.nextInt(100)).bytes();
  }

  /** An ARP reply from the router (0) or a backend (1..3), sometimes with a new MAC. */
  private static byte[] neighbourReply(int who, Random random) {
    long change = random.nextInt(8) == 0 ? 0x1000 : 0;
    if (who == 0) {
      return TestPacket.arp(Arp.OP_REPLY, TestGateway.ROUTER_MAC ^ change, TestGateway.ROUTER,
          TestPacket.GW_MAC_0, TestGateway.GW_CLIENT_SIDE, TestPacket.GW_MAC_0);
    }
    String ip = BACKENDS[who - 1];
    return TestPacket.arp(Arp.OP_REPLY, TestGateway.backendMac(Ipv4.parse(ip)) ^ change, ip,
        TestPacket.GW_MAC_1, TestGateway.GW_BACKEND_SIDE, TestPacket.GW_MAC_1);
  }
}
