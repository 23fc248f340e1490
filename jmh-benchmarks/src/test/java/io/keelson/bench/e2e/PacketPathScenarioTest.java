package io.keelson.bench.e2e;

import io.keelson.bench.packet.PacketBenchmark;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class PacketPathScenarioTest {
  private static final List<PacketBenchmark.Result> RESULTS = List.of(
      new PacketBenchmark.Result("null", "testpmd-io", "dpdk-testpmd ... --forward-mode=io", List.of(40.0, 42.0, 41.0)),
      new PacketBenchmark.Result("null", "keelson-inline", "java ... GatewayCommand", List.of(20.0, 19.0, 21.0)),
      new PacketBenchmark.Result("pcap", "testpmd-5tswap", "dpdk-testpmd ... 5tswap", List.of(10.0, 0.0, 12.0)),
      new PacketBenchmark.Result("pcap", "keelson-inline", "java ... GatewayCommand", List.of(5.0, 6.0, 4.0)));

  @Test
  void eachDeviceBecomesAScenarioWithEveryRunInPacketsPerSecond() {
    List<BatchScenario.Group> groups = PacketPathScenario.groups(RESULTS, 5);

    assertThat(groups).extracting(BatchScenario.Group::scenario).containsExactly("packet-null", "packet-pcap");
    BatchScenario.Group nul = groups.getFirst();
    assertThat(nul.unit()).isEqualTo("packets/s");
    assertThat(nul.runs()).hasSize(6);
    assertThat(nul.runs().getFirst().ratePerSecond()).isEqualTo(40e6);
    assertThat(nul.commands()).containsEntry("testpmd-io", "dpdk-testpmd ... --forward-mode=io");
    RunRecord zero = groups.get(1).runs().get(1);
    assertThat(zero.ok()).isFalse();
    assertThat(zero.error()).contains("0 packets/s");
  }

  @Test
  void summaryShowsMppsNanosecondsPerPacketAndKeelsonOverTestpmd(@TempDir Path dir) throws Exception {
    BatchScenario.Group g = PacketPathScenario.groups(RESULTS, 5).getFirst();
    List<PeerSummary> peers = List.of(
        PeerSummary.of(g.scenario(), "testpmd-io", g.runs().stream().filter(r -> r.peer().equals("testpmd-io")).toList(), null),
        PeerSummary.of(g.scenario(), "keelson-inline",
            g.runs().stream().filter(r -> r.peer().equals("keelson-inline")).toList(), null));
    ScenarioSummary s = ScenarioSummary.of(g.scenario(), g.description(), g.unit(), List.of(), peers);

    assertThat(s.ratios()).containsOnlyKeys("packets/s keelson-inline/testpmd-io");
    assertThat(s.ratios().get("packets/s keelson-inline/testpmd-io")).isCloseTo(20.0 / 41, within(1e-9));
    BenchResults r = Fixtures.results();
    BenchResults withPackets = new BenchResults(r.command(), r.started(), r.finished(), r.settings(), r.machine(),
        r.pinning(), r.peerVersions(), g.runs(), List.of(s), List.of(), List.of());
    String md = SummaryMarkdown.render(withPackets, List.of());
    assertThat(md).contains("| subject | Mpps | ns/packet | runs ok |", "| testpmd-io | 41.000 | 24.4 | 3/3 |",
        "| keelson-inline | 20.000 | 50.0 | 3/3 |", "| packets/s keelson-inline/testpmd-io | 0.49 |");
    assertThat(Charts.write(List.of(s), r.machine(), dir)).containsExactly("packets-per-second.png");
  }

  @Test
  void isSkippedWithAReasonWhereTheNativeShimIsMissing(@TempDir Path dir) {
    Tools tools = new Tools(false, new PrintStream(OutputStream.nullOutputStream()));
    String why = new PacketPathScenario(dir).unavailableReason(tools);

    assertThat(why).isNotNull().containsAnyOf("dpdk-testpmd is not installed", "native DPDK shim is not built");
  }

  @Test
  void theHugepageVariantNamesItsScenariosAndDevicesApart() {
    PacketPathScenario huge = new PacketPathScenario(Path.of("."), true);
    assertThat(huge.name()).isEqualTo("packet-hugepages");
    assertThat(new PacketPathScenario(Path.of(".")).name()).isEqualTo("packet");
    List<BatchScenario.Group> groups = PacketPathScenario.groups(RESULTS, 5, true);
    assertThat(groups).extracting(BatchScenario.Group::scenario)
        .containsExactly("packet-hugepages-null", "packet-hugepages-pcap");
    assertThat(groups.getFirst().description()).contains("2 MB hugepages");
  }

  @Test
  void onHugepagesTestpmdMapsThemAndTheGatewayUsesTheHugepageProfiles() {
    var o = new PacketBenchmark.Options(Path.of("."), "", 1, 5, 1, Path.of("."), true);
    assertThat(o.testpmdMemory()).containsExactly("--huge-unlink");
    assertThat(o.profile("pcap-replay")).isEqualTo("pcap-replay-hugepages");
    var plain = new PacketBenchmark.Options(Path.of("."), "", 1, 5, 1, Path.of("."));
    assertThat(plain.testpmdMemory()).containsExactly("--no-huge");
    assertThat(plain.profile("null")).isEqualTo("null");
    assertThat(Path.of("../hw-profiles/pcap-replay-hugepages.yaml")).exists();
    assertThat(Path.of("../hw-profiles/null-hugepages.yaml")).exists();
  }

  @Test
  void testpmdIoAndTheInlineGatewayRunBackToBackInAlternatingOrder() {
    List<String> keys = List.of("null/testpmd-io", "null/keelson-inline", "null/testpmd-5tswap",
        "pcap/testpmd-io", "pcap/keelson-inline", "pcap/keelson-disruptor");
    assertThat(PacketBenchmark.order(keys, 0)).isEqualTo(keys);
    assertThat(PacketBenchmark.order(keys, 1)).containsExactly("null/keelson-inline", "null/testpmd-io",
        "null/testpmd-5tswap", "pcap/keelson-inline", "pcap/testpmd-io", "pcap/keelson-disruptor");
    assertThat(PacketBenchmark.order(keys, 2)).isEqualTo(keys);
  }

  @Test
  void theGatewaysOverheadIsTakenRunByRunAndItsMedianReported() {
    List<PacketBenchmark.Result> results = List.of(
        new PacketBenchmark.Result("pcap", "testpmd-io", "io", List.of(25.0, 10.0, 20.0, 0.0)),
        new PacketBenchmark.Result("pcap", "keelson-inline", "gw", List.of(10.0, 8.0, 12.5, 9.0)));
    // ns/packet: io 40, 100, 50, (failed); gateway 100, 125, 80, 111.1
    assertThat(PacketBenchmark.pairedOverhead(results, "pcap")).containsExactly(60.0, 25.0, 30.0);
    assertThat(PacketBenchmark.pairedText(PacketBenchmark.pairedOverhead(results, "pcap")))
        .isEqualTo("+60.0, +25.0, +30.0 ns/packet (median +30.0)");
    assertThat(PacketBenchmark.pairedOverhead(results, "null")).isEmpty();
    assertThat(PacketPathScenario.groups(results, 5).getFirst().description())
        .endsWith("keelson-inline over testpmd-io, run by run (the two measured back to back): +60.0, +25.0, +30.0 ns/packet (median +30.0)");
    assertThat(PacketBenchmark.median(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(2.5);
  }
}
