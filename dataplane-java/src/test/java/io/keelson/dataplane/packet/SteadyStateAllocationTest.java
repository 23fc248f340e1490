package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The hot path allocates nothing per packet: thousands of bursts through the stages cost no heap. */
class SteadyStateAllocationTest {
  private static final int L3 = 14;
  private static final int BURST = 32;

  @Test
  void forwardingEstablishedFlowsAllocatesNothingPerPacket() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[][] originals = new byte[BURST][];
    for (int i = 0; i < BURST; i++) {
      byte[] syn = TestPacket.tcp("198.51.100." + (i + 1), 40_000 + i, TestGateway.VIP, 80, Tcp.SYN)
          .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
      assertThat(gw.run(0, syn).verdict(0)).isEqualTo(1);
      originals[i] = TestPacket.tcp("198.51.100." + (i + 1), 40_000 + i, TestGateway.VIP, 80, Tcp.ACK)
          .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).payload(100).bytes();
    }
    PacketBurst burst = assertNoAllocation(gw, originals);
    assertThat(TestPacket.checksumsValid(burst.packet(0), L3)).isTrue();
  }

  @Test
  void forwardingEstablishedIpv6FlowsAllocatesNothingPerPacket() {
    GatewayHarness gw = new GatewayHarness(TestGateway6.config());
    gw.forward.learnNeighbour(Ipv6.Address.parse(TestGateway6.CLIENT), TestGateway6.CLIENT_MAC, gw.now);
    for (String b : TestGateway6.BACKENDS) {
      gw.forward.learnNeighbour(Ipv6.Address.parse(b), TestGateway6.backendMac(b), gw.now);
    }
    byte[][] originals = new byte[BURST][];
    for (int i = 0; i < BURST; i++) {
      byte[] syn = TestPacket6.tcp(TestGateway6.CLIENT, 40_000 + i, TestGateway6.VIP, 80, Tcp.SYN).bytes();
      assertThat(gw.run(0, syn).verdict(0)).isEqualTo(1);
      originals[i] = TestPacket6.tcp(TestGateway6.CLIENT, 40_000 + i, TestGateway6.VIP, 80, Tcp.ACK).payload(100).bytes();
    }
    PacketBurst burst = assertNoAllocation(gw, originals);
    assertThat(TestPacket6.checksumValid(burst.packet(0))).isTrue();
  }

  /** Runs the frames as one burst thousands of times; asserts the stages allocated (next to) nothing. */
  private static PacketBurst assertNoAllocation(GatewayHarness gw, byte[][] originals) {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    byte[][] frames = new byte[BURST][];
    PacketBurst burst = new PacketBurst(BURST);
    for (int i = 0; i < BURST; i++) {
      frames[i] = originals[i].clone();
      burst.setPacket(i, TestPacket.wrap(frames[i]));
    }
    Runnable oneBurst = () -> {
      for (int i = 0; i < BURST; i++) {
        System.arraycopy(originals[i], 0, frames[i], 0, frames[i].length);
      }
      burst.reset(BURST, 0);
      gw.parse.onEvent(burst);
      gw.classify.onEvent(burst);
      gw.forward.onEvent(burst);
    };
    for (int round = 0; round < 2_000; round++) {
      oneBurst.run(); // warm up: the JIT's own allocations (profiles, class init) happen here
    }
    long threadId = Thread.currentThread().threadId();
    long before = threads.getThreadAllocatedBytes(threadId);
    int rounds = 5_000;
    for (int round = 0; round < rounds; round++) {
      oneBurst.run();
    }
    long allocated = threads.getThreadAllocatedBytes(threadId) - before;
    for (int i = 0; i < BURST; i++) {
      assertThat(burst.verdict(i)).isEqualTo(1);
    }
    // 160,000 packets; allow a few KB of noise from the measuring itself, far below one byte per packet.
    assertThat(allocated).as("bytes allocated for %d packets", rounds * BURST).isLessThan(16 * 1024);
    return burst;
  }
}
