package io.keelson.dataplane.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.hw.HardwareProfile;
import io.keelson.dataplane.hw.HardwareProfiles;
import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.TestEal;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.GatewayLimits;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import io.keelson.dataplane.pipeline.PipelineMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The gateway runtime in this JVM on net_pcap: backends' ARP replies and client SYNs to the VIP are
 * read from a capture, and what the gateway transmits is written to another, then checked packet by
 * packet: full NAT to the Maglev-chosen backend, the backend's MAC, valid checksums. Both pipeline
 * wirings. Needs DPDK (not root).
 */
class GatewayPcapTest {
  private static final int GATEWAY = BadFrames.parseIp("10.99.0.1");
  private static final int SNAT = BadFrames.parseIp("10.99.0.2");
  private static final int VIP = BadFrames.parseIp("10.99.0.100");
  private static final int[] BACKENDS = {BadFrames.parseIp("10.99.0.21"), BadFrames.parseIp("10.99.0.22")};
  private static final long[] BACKEND_MACS = {0x020000000201L, 0x020000000202L};
  private static final int CLIENTS = 8;
  private static final int PORTS = 4;

  @BeforeEach
  void eal() {
    TestEal.assumeStarted();
    Dpdk.registerThread();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void synsToTheVipLeaveFullNatedToTheMaglevBackendWithValidChecksums(PipelineMode mode, @TempDir Path dir)
      throws IOException {
    Path in = dir.resolve("in.pcap");
    Path out = dir.resolve("out.pcap");
    Pcap.write(in, List.of());
    // net_pcap MACs are 02:70:63:61:70:<n> with n counting pcap devices in the process: learn n from a
    // throwaway device, so the capture can be addressed to the gateway's port.
    String probe = TestEal.uniqueDevice("net_pcap");
    Dpdk.createVdev(probe, "rx_pcap=" + in);
    long gatewayMac = DpdkPort.byName(probe).mac() + 1;
    DpdkPort.byName(probe).close();
    Dpdk.removeVdev(probe);

    List<byte[]> frames = new ArrayList<>();
    for (int b = 0; b < BACKENDS.length; b++) {
      frames.add(Pcap.arpReply(BACKEND_MACS[b], BACKENDS[b], gatewayMac, GATEWAY));
    }
    for (int c = 0; c < CLIENTS; c++) {
      for (int p = 0; p < PORTS; p++) {
        frames.add(Pcap.tcp(gatewayMac, 0x020000001000L + c, client(c), VIP, 30000 + p, 80, flowSeq(c, p), 0x02));
      }
    }
    Pcap.write(in, frames);
    String device = TestEal.uniqueDevice("net_pcap");
    HardwareProfile profile = profile(dir, device, "rx_pcap=" + in + ",tx_pcap=" + out);
    GatewayConfig.Vip vip = new GatewayConfig.Vip("vip", VIP, 80, 6,
        List.of(new GatewayConfig.Backend(BACKENDS[0], 8080, 1), new GatewayConfig.Backend(BACKENDS[1], 8080, 1)));
    GatewaySettings settings = new GatewaySettings(profile, mode, Map.of("wire", "10.99.0.1/16"),
        List.of("10.99.0.2"), List.of(vip), GatewayLimits.defaults(), List.of(), false);

    MaglevTable maglev;
    try (GatewayRuntime gw = GatewayRuntime.start(settings)) {
      assertThat(gw.ports().get("wire").mac()).as("the capture's destination MAC").isEqualTo(gatewayMac);
      maglev = gw.tables().current().maglev(0);
      await("every SYN forwarded").atMost(Duration.ofSeconds(20))
          .until(() -> gw.counter("wire", GatewayCounter.TX_PACKETS) >= CLIENTS * PORTS);
    }

    List<String> problems = new ArrayList<>();
    Set<Integer> backendsSeen = new HashSet<>();
    int syns = 0;
    for (byte[] f : Pcap.read(out)) {
      if (Pcap.u16(f, 12) != 0x0800 || f[23] != 6) {
        continue;
      }
      syns++;
      int seq = Pcap.u32(f, 38);
      int c = seq / 1000;
      int p = seq % 1000 - 1;
      long hash = MaglevTable.hash5(client(c), VIP, 30000 + p, 80, 6);
      int expected = maglev.lookup(hash);
      int dst = Pcap.u32(f, 30);
      backendsSeen.add(dst);
      check(problems, seq, "destination", dst, BACKENDS[expected]);
      check(problems, seq, "destination port", Pcap.u16(f, 36), 8080);
      check(problems, seq, "source (SNAT)", Pcap.u32(f, 26), SNAT);
      check(problems, seq, "destination MAC", Pcap.mac(f, 0), BACKEND_MACS[expected]);
      check(problems, seq, "source MAC", Pcap.mac(f, 6), gatewayMac);
      if (!Pcap.checksumsValid(f)) {
        problems.add("flow " + seq + ": IPv4 or TCP checksum does not verify");
      }
    }
    assertThat(problems).isEmpty();
    assertThat(syns).isEqualTo(CLIENTS * PORTS);
    assertThat(backendsSeen).hasSize(2);
  }

  private static void check(List<String> problems, int seq, String what, long actual, long expected) {
    if (actual != expected) {
      problems.add("flow " + seq + ": " + what + " " + Long.toHexString(actual) + ", expected " + Long.toHexString(expected));
    }
  }

  private static int client(int c) {
    return BadFrames.parseIp("10.99.1.10") + c;
  }

  private static int flowSeq(int c, int p) {
    return c * 1000 + p + 1;
  }

  private static HardwareProfile profile(Path dir, String device, String args) throws IOException {
    Path file = dir.resolve("pcap-test.yaml");
    Files.writeString(file, """
        name: pcap-test
        description: net_pcap in and out files, for a test
        driver: net_pcap
        eal: { args: [] }
        ports:
          - name: wire
            vdev: %s
            args: "%s"
        cores: [0]
        queues: { rx: 1, tx: 1, rx_ring: 512, tx_ring: 512 }
        rss: []
        burst_size: 32
        mbuf_pool: { size: 2047, cache: 32, data_room: 2176 }
        offloads: { rx: [], tx: [] }
        idle: { strategy: park, max_spins: 10, max_yields: 5, min_park_ns: 1000, max_park_ns: 100000 }
        verified: true
        note: test only
        """.formatted(device, args));
    return HardwareProfiles.load(file.toString(), Map.of());
  }
}
