package io.keelson.bench.e2e;

import io.keelson.bench.packet.PacketBenchmark;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The packet path of BENCHMARKS.md section 2 through {@link PacketBenchmark}: dpdk-testpmd (io,
 * macswap, 5tswap) and the Keelson gateway (inline and disruptor pipelines) on net_null and on
 * net_pcap replaying TCP flows, one scenario per device. Needs DPDK and the native shim. Immutable.
 */
final class PacketPathScenario implements BatchScenario {
  /** testpmd's stats need a few seconds after start-up before they are steady. */
  static final int MIN_SECONDS = 5;

  private final Path keelsonHome;
  /** Every subject's DPDK memory on 2 MB hugepages (scenario packet-hugepages), else none (packet). */
  private final boolean hugepages;
  /** Reserved (and mounted) by {@link #unavailableReason}, put back after {@link #run}. */
  private final Hugepages pages;

  PacketPathScenario(Path keelsonHome) {
    this(keelsonHome, false);
  }

  PacketPathScenario(Path keelsonHome, boolean hugepages) {
    this.keelsonHome = keelsonHome;
    this.hugepages = hugepages;
    this.pages = Hugepages.system();
  }

  @Override
  public String name() {
    return hugepages ? "packet-hugepages" : "packet";
  }

  @Override
  public String description() {
    return hugepages
        ? "as packet, every subject's DPDK memory on 2 MB hugepages (reserved and mounted as root; not in --quick)"
        : "DPDK packet path: Keelson gateway vs dpdk-testpmd on net_null and net_pcap (not in --quick unless named)";
  }

  @Override
  public String unavailableReason(Tools tools) {
    if (tools.find("dpdk-testpmd") == null) {
      return "dpdk-testpmd is not installed (Debian package dpdk)";
    }
    Path shim = keelsonHome.resolve("build/native/dataplane-native/libkeelson_dp.so");
    if (!Files.isRegularFile(shim)) {
      return "the native DPDK shim is not built (" + shim + "; bin/keelson builds it when libdpdk-dev is installed)";
    }
    return hugepages ? pages.ensure() : null;
  }

  @Override
  public List<Group> run(Path dir, int runs, int seconds, PrintStream log) throws IOException, InterruptedException {
    int s = Math.max(seconds, MIN_SECONDS);
    Files.createDirectories(dir);
    log.printf("keelson bench: packet: 10 subjects x %d runs of %d s on one core (about %d s)%n", runs, s,
        runs * 10 * (s + 4));
    List<PacketBenchmark.Result> results;
    try {
      results = PacketBenchmark.run(new PacketBenchmark.Options(keelsonHome,
          System.getProperty("java.class.path"), runs, s, 1, dir, hugepages));
    } finally {
      String left = hugepages ? pages.release() : null;
      if (left != null) {
        log.println("keelson bench: packet-hugepages: " + left);
      }
    }
    Files.writeString(dir.resolve("report.txt"), PacketBenchmark.report(results));
    return groups(results, s, hugepages);
  }

  /** One group per device; every run a RunRecord in packets/s. */
  static List<Group> groups(List<PacketBenchmark.Result> results, int seconds) {
    return groups(results, seconds, false);
  }

  static List<Group> groups(List<PacketBenchmark.Result> results, int seconds, boolean hugepages) {
    String prefix = hugepages ? "packet-hugepages-" : "packet-"; // + the device: the scenario's name
    Map<String, List<RunRecord>> runs = new LinkedHashMap<>(); // by device
    Map<String, Map<String, String>> commands = new LinkedHashMap<>();
    for (PacketBenchmark.Result r : results) {
      String scenario = prefix + r.device();
      List<RunRecord> list = runs.computeIfAbsent(r.device(), k -> new ArrayList<>());
      commands.computeIfAbsent(r.device(), k -> new LinkedHashMap<>()).put(r.subject(), r.command());
      for (int i = 0; i < r.mpps().size(); i++) {
        double pps = r.mpps().get(i) * 1e6;
        Measurement m = new Measurement(pps, "packets/s", Math.round(pps * seconds), seconds, 0, "",
            new java.util.TreeMap<>());
        list.add(RunRecord.of(scenario, r.subject(), i + 1, m, ResourceSampler.Usage.NONE, List.of(r.command()), ""));
      }
    }
    List<Group> groups = new ArrayList<>();
    runs.forEach((device, list) -> groups.add(new Group(prefix + device,
        (device.equals("null") ? "net_null: framework cost" : "net_pcap replaying many TCP flows: the full pipeline")
            + " (dpdk-testpmd vs the Keelson gateway, one core, " + (hugepages ? "2 MB hugepages)" : "--no-huge)")
            + ". " + PacketBenchmark.GATEWAY + " over " + PacketBenchmark.REFERENCE
            + ", run by run (the two measured back to back): "
            + PacketBenchmark.pairedText(PacketBenchmark.pairedOverhead(results, device)),
        "packets/s", list, commands.get(device))));
    return groups;
  }
}
