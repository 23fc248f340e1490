package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The same bursts through the inline and the Disruptor wiring give the same verdicts and bytes. */
class PipelineWiringTest {
  private record Input(int rxPort, byte[][] frames) {}

  /** What the I/O loop's TX step would see: verdict, reason and bytes of each packet, and the extras. */
  private static final class Capture implements Stage<PacketBurst> {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onEvent(PacketBurst burst) {
      for (int i = 0; i < burst.count(); i++) {
        PacketBuffer p = burst.packet(i);
        byte[] bytes = new byte[p.length()];
        p.getBytes(0, bytes, 0, bytes.length);
        lines.add(burst.verdict(i) + " " + burst.dropReason(i) + " " + Arrays.toString(bytes));
      }
      for (int j = 0; j < burst.extraCount(); j++) {
        PacketBuffer p = burst.extra(j);
        byte[] bytes = new byte[p.length()];
        p.getBytes(0, bytes, 0, bytes.length);
        lines.add("extra@" + burst.extraPort(j) + " " + Arrays.toString(bytes));
      }
      lines.add("end of burst");
    }
  }

  private static List<Input> traffic() {
    List<Input> bursts = new ArrayList<>();
    String client = "198.51.100.7";
    // An unresolved backend first (drop + who-has), then neighbours learnt, then flows.
    bursts.add(new Input(0, new byte[][] {
        TestPacket.tcp(client, 999, TestGateway.VIP, 80, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes()}));
    List<byte[]> arp = new ArrayList<>();
    for (String ip : new String[] {"10.1.0.11", "10.1.0.12", "10.1.0.13"}) {
      arp.add(TestPacket.arp(Arp.OP_REPLY, TestGateway.backendMac(Ipv4.parse(ip)), ip, TestPacket.GW_MAC_1,
          TestGateway.GW_BACKEND_SIDE, TestPacket.GW_MAC_1));
    }
    bursts.add(new Input(1, arp.toArray(byte[][]::new)));
    bursts.add(new Input(0, new byte[][] {TestPacket.arp(Arp.OP_REQUEST, TestGateway.ROUTER_MAC, TestGateway.ROUTER, 0,
        TestGateway.VIP, Ethernet.BROADCAST)}));
    List<byte[]> mixed = new ArrayList<>();
    for (int port = 1000; port < 1024; port++) {
      mixed.add(TestPacket.tcp(client, port, TestGateway.VIP, 80, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    }
    mixed.add(TestPacket.icmpEcho(client, TestGateway.VIP).payload(8).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    mixed.add(TestPacket.udp(client, 53000, TestGateway.VIP, 53).payload(20).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    mixed.add(TestPacket.tcp(client, 1, TestGateway.VIP, 80, Tcp.ACK).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    mixed.add(Arrays.copyOf(TestPacket.tcp(client, 2, TestGateway.VIP, 80, Tcp.SYN).bytes(), 30));
    mixed.add(TestPacket.tcp(client, 3, TestGateway.GW_CLIENT_SIDE, 22, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    bursts.add(new Input(0, mixed.toArray(byte[][]::new)));
    return bursts;
  }

  private static List<String> runThrough(PipelineMode mode) {
    long[] clock = {5_000_000_000L};
    GatewayStages stages = new GatewayStages(new GatewayTables(TestGateway.config()), () -> clock[0]);
    Capture capture = new Capture();
    List<Input> bursts = traffic();
    try (Pipeline<PacketBurst> pipeline = stages.pipeline(mode, "gw-test-" + mode, 64, 8, () -> capture)) {
      for (Input input : bursts) {
        boolean published = pipeline.tryPublish((burst, in) -> {
          for (int i = 0; i < in.frames().length; i++) {
            burst.setPacket(i, TestPacket.wrap(in.frames()[i].clone()));
          }
          burst.reset(in.frames().length, in.rxPort());
        }, input);
        assertThat(published).isTrue();
        // One burst in flight at a time, as an I/O loop that waits for its TX would have.
        long ends = bursts.indexOf(input) + 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> capture.lines.stream().filter("end of burst"::equals).count() == ends);
      }
    }
    assertThat(stages.dropCount(DropReason.ARP_UNRESOLVED)).isEqualTo(1);
    return List.copyOf(capture.lines);
  }

  @Test
  void inlineAndDisruptorWiringsGiveIdenticalVerdictsAndBytes() {
    List<String> inline = runThrough(PipelineMode.INLINE);
    List<String> ring = runThrough(PipelineMode.DISRUPTOR);
    // Per burst: its packets, its extras, an end marker.
    assertThat(inline).hasSize((1 + 1 + 1) + (3 + 1) + (1 + 1) + (29 + 1));
    assertThat(inline.stream().filter(l -> l.startsWith("1 null")).count()).as("24 SYNs and the UDP query forwarded to port 1").isEqualTo(25);
    assertThat(ring).isEqualTo(inline);
  }
}
