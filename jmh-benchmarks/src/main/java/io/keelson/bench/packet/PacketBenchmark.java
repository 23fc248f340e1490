package io.keelson.bench.packet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packet-path benchmark (BENCHMARKS.md §2): dpdk-testpmd in io, macswap and 5tswap modes and the
 * Keelson gateway (inline and disruptor pipelines), back to back on the same virtual device and the
 * same core, runs interleaved, medians reported with ns/packet and ratios. Devices: net_null (framework
 * cost: the gateway parses and drops the PMD's zero-filled frames) and net_pcap replaying a generated
 * capture of many TCP flows to one VIP (the full pipeline: parse, classify, conntrack, Maglev, NAT,
 * checksums). Every subject runs in its own process (an EAL per process), without hugepages, or with
 * every subject's DPDK memory on 2 MB hugepages ({@link Options#hugepages()}, as a gateway node runs).
 *
 * <p>The replay loops over the capture, so every flow's SYN comes again on every pass, at a rate per
 * client address that grows with the gateway's speed (16 SYNs per client per pass of ~30,000 packets:
 * ~5,000 SYN/s per client at 10 Mpps). With the default per-source SYN limit (200/s) most of those
 * repeats were dropped as {@code syn_rate_limited}, so the run measured the drop path for one packet in
 * eight. The gateway is therefore started with {@link #SYN_RATE}: the limiter still runs for every SYN
 * (its cost is in the result) but never refuses one, and every replayed packet takes the forwarding
 * path (a repeated SYN of a tracked flow is forwarded to the flow's backend, as a retransmission is).
 * Each run's drop counters and RX/TX are checked and printed; a run that dropped more than 0.1% is
 * flagged in the report.
 *

 * <p>Threading: {@link #run} blocks the calling thread for runs × subjects × seconds.
 */
public final class PacketBenchmark {
  private static final Pattern TESTPMD_PPS = Pattern.compile("Rx-pps:\\s+(\\d+)");
  private static final Pattern GATEWAY_STATS = Pattern.compile(
      "^stats t=([0-9.]+) rx=(\\d+) tx=(\\d+) poller_cpu=([0-9.]+) pipeline_full=(\\d+)(?: worker_cpu=([0-9.]+))?");
  private static final Pattern TESTPMD_TOTAL_RX =
      Pattern.compile("Accumulated forward statistics[^\\n]*\\n\\s*RX-packets:\\s+(\\d+)");
  /** How long testpmd may take to start forwarding (EAL without hugepages zeroes its memory). */
  private static final long TESTPMD_START_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final Pattern DROP = Pattern.compile(" ([a-z_]+)=(\\d+)");
  /** Per-source SYN limit for the pcap runs: far above the replay's ~5,000 SYN/s per client (see above). */
  static final String SYN_RATE = "1000000/1000";

  /**
   * @param keelsonHome the project root (hw-profiles/, build/native)
   * @param classpath   the classpath holding the data plane (the gateway runs as a child JVM)
   * @param cpu         the core every subject's poller runs on
   */
  public record Options(Path keelsonHome, String classpath, int runs, int seconds, int cpu, Path workDir,
      boolean hugepages) {
    public Options(Path keelsonHome, String classpath, int runs, int seconds, int cpu, Path workDir) {
      this(keelsonHome, classpath, runs, seconds, cpu, workDir, false);
    }

    /** testpmd's EAL memory arguments: hugepages (unlinked once mapped, so none are left behind) or none. */
    public List<String> testpmdMemory() {
      return hugepages ? List.of("--huge-unlink") : List.of("--no-huge");
    }

    /** The gateway's hardware profile for a device: the same one on hugepages when asked. */
    public String profile(String base) {
      return hugepages ? base + "-hugepages" : base;
    }
  }

  /** One subject on one device: the rate of every run. */
  public record Result(String device, String subject, String command, List<Double> mpps, List<String> notes) {
    public Result(String device, String subject, String command, List<Double> mpps) {
      this(device, subject, command, mpps, List.of());
    }

    /** Median over the runs that moved packets (a run that failed to start reports 0 and is left out). */
    public double median() {
      double m = PacketBenchmark.median(mpps.stream().filter(v -> v > 0).toList());
      return Double.isNaN(m) ? 0 : m;
    }

    public double nsPerPacket() {
      return median() == 0 ? Double.NaN : 1000.0 / median();
    }
  }

  private PacketBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path home = Path.of(System.getProperty("keelson.home", "."));
    Options o = new Options(home, System.getProperty("java.class.path"), runs, seconds, 1,
        Files.createTempDirectory("keelson-packet-bench"));
    System.out.print(report(run(o)));
  }

  /** Runs every subject on every device, interleaved, {@code runs} times. */
  public static List<Result> run(Options o) throws IOException, InterruptedException {
    Path pcap = o.workDir().resolve("flows.pcap");
    int packets = FlowCapture.write(pcap, 240, 16, 7);
    Path bootstrap = o.workDir().resolve("bootstrap.yaml");
    Files.writeString(bootstrap, bootstrap());
    Map<String, Subject> subjects = new LinkedHashMap<>();
    String nullDevs = "--vdev net_null0 --vdev net_null1";
    String pcapDevs = "--vdev net_pcap0,rx_pcap=" + pcap + ",infinite_rx=1";
    for (String device : List.of("null", "pcap")) {
      String devs = device.equals("null") ? nullDevs : pcapDevs;
      String extra = device.equals("null") ? "" : "--port-topology=loop";
      int mbufs = device.equals("null") ? 0 : packets;
      List<String> gatewayArgs = device.equals("null") ? List.of()
          : List.of("--var", "pcap=" + pcap, "--syn-rate", SYN_RATE);
      String profile = o.profile(device.equals("null") ? "null" : "pcap-replay");
      subjects.put(device + "/" + REFERENCE, testpmd(o, devs, "io", extra, mbufs));
      subjects.put(device + "/" + GATEWAY, gateway(o, profile, bootstrap, "inline", gatewayArgs));
      subjects.put(device + "/testpmd-5tswap", testpmd(o, devs, "5tswap", extra, mbufs));
      subjects.put(device + "/testpmd-macswap", testpmd(o, devs, "macswap", extra, mbufs));
      subjects.put(device + "/keelson-disruptor", gateway(o, profile, bootstrap, "disruptor", gatewayArgs));
    }
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    subjects.keySet().forEach(k -> rates.put(k, new ArrayList<>()));
    for (int run = 0; run < o.runs(); run++) {
      for (String key : order(List.copyOf(subjects.keySet()), run)) {
        rates.get(key).add(subjects.get(key).measure(o, run));
      }
    }
    List<Result> results = new ArrayList<>();
    for (Map.Entry<String, Subject> e : subjects.entrySet()) {
      String[] parts = e.getKey().split("/", 2);
      String command = String.join(" ", e.getValue().command()).replace(o.classpath(), "<classpath>");
      results.add(new Result(parts[0], parts[1], command, rates.get(e.getKey()), e.getValue().notes()));
    }
    return results;
  }

  /** The subject every gateway figure is measured against, and the gateway subject of issue 8's goal. */
  public static final String REFERENCE = "testpmd-io";
  public static final String GATEWAY = "keelson-inline";

  /**
   * The order of one run: device by device, with testpmd io and the inline gateway back to back, in
   * alternating order from run to run. This host's speed drifts by up to 60% over minutes, so only a
   * pair measured seconds apart gives a difference that means something; alternating cancels whatever
   * the first of two adjacent subjects leaves behind for the second.
   */
  public static List<String> order(List<String> keys, int run) {
    List<String> order = new ArrayList<>(keys);
    if (run % 2 == 1) {
      for (int i = 0; i + 1 < order.size(); i++) {
        String device = order.get(i).split("/", 2)[0];
        if (order.get(i).equals(device + "/" + REFERENCE) && order.get(i + 1).equals(device + "/" + GATEWAY)) {
          java.util.Collections.swap(order, i, i + 1);
        }
      }
    }
    return order;
  }

  /**
   * The gateway's ns/packet minus testpmd io's, run by run (the two ran back to back); runs where
   * either measured nothing are left out.
   */
  public static List<Double> pairedOverhead(List<Result> results, String device) {
    List<Double> out = new ArrayList<>();
    Result io = lookUp(results, device, REFERENCE).orElse(null);
    Result gw = lookUp(results, device, GATEWAY).orElse(null);
    if (io == null || gw == null) {
      return out;
    }
    for (int i = 0; i < Math.min(io.mpps().size(), gw.mpps().size()); i++) {
      double a = io.mpps().get(i);
      double b = gw.mpps().get(i);
      if (a > 0 && b > 0) {
        out.add(1000.0 / b - 1000.0 / a);
      }
    }
    return out;
  }

  /** The median of {@code values}, NaN when empty. */
  public static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** "+a, +b, +c (median +m)" for {@link #pairedOverhead}. */
  public static String pairedText(List<Double> overhead) {
    if (overhead.isEmpty()) {
      return "no run measured both";
    }
    return overhead.stream().map(v -> String.format(Locale.ROOT, "%+.1f", v)).collect(java.util.stream.Collectors.joining(", "))
        + String.format(Locale.ROOT, " ns/packet (median %+.1f)", median(overhead));
  }

  /** A table: device, subject, median Mpps, every run, ns/packet, ratios to testpmd io and 5tswap. */
  public static String report(List<Result> results) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "%-6s %-20s %8s %9s %12s %10s  %s%n",
        "device", "subject", "Mpps", "ns/pkt", "vs io", "vs 5tswap", "runs (Mpps)"));
    for (Result r : results) {
      Result io = find(results, r.device(), "testpmd-io");
      Result five = find(results, r.device(), "testpmd-5tswap");
      out.append(String.format(Locale.ROOT, "%-6s %-20s %8.3f %9.1f %11.0f%% %9.0f%%  %s%n", r.device(),
          r.subject(), r.median(), r.nsPerPacket(), 100 * r.median() / io.median(),
          100 * r.median() / five.median(), r.mpps().stream().map(v -> String.format(Locale.ROOT, "%.3f", v)).toList()));
    }
    for (Result r : results) {
      if (r.subject().startsWith("keelson")) {
        Result io = find(results, r.device(), REFERENCE);
        out.append(String.format(Locale.ROOT, "%s %s: %+.1f ns/packet over testpmd io (medians of each)%n", r.device(),
            r.subject(), r.nsPerPacket() - io.nsPerPacket()));
      }
    }
    for (String device : results.stream().map(Result::device).distinct().toList()) {
      out.append(device).append(' ').append(GATEWAY).append(" over ").append(REFERENCE)
          .append(", run by run (measured back to back): ").append(pairedText(pairedOverhead(results, device)))
          .append('\n');
    }
    out.append("per run: the gateway's rx, tx, drops by reason and Mpps per poller CPU-second; testpmd's rx and Mpps"
        + " per forwarding-lcore CPU-second (CPU-normalized rates, which a busy machine distorts less than wall-clock"
        + " Mpps):\n");
    for (Result r : results) {
      for (String note : r.notes()) {
        out.append("  ").append(r.device()).append('/').append(r.subject()).append(' ').append(note).append('\n');
      }
    }
    out.append("net_null frames are zero-filled: the gateway drops them all as not_our_mac (framework cost only).\n");
    out.append("pcap: gateway started with --syn-rate ").append(SYN_RATE).append(" (per client address) because the"
        + " replay repeats every flow's SYN on each pass; the limiter still runs but refuses none.\n");
    out.append("commands:\n");
    for (Result r : results) {
      out.append("  ").append(r.device()).append('/').append(r.subject()).append(": ").append(r.command()).append('\n');
    }
    return out.toString();
  }

  private static Result find(List<Result> results, String device, String subject) {
    return lookUp(results, device, subject).orElseThrow();
  }

  private static java.util.Optional<Result> lookUp(List<Result> results, String device, String subject) {
    return results.stream().filter(r -> r.device().equals(device) && r.subject().equals(subject)).findFirst();
  }

  private interface Subject {
    List<String> command();

    double measure(Options o, int run) throws IOException, InterruptedException;

    /** What each run's own counters said (gateway subjects). */
    default List<String> notes() {
      return List.of();
    }
  }

  private static Subject testpmd(Options o, String devices, String mode, String extra, int mbufsNeeded) {
    List<String> cmd = new ArrayList<>(List.of("dpdk-testpmd", "-l", "0," + o.cpu()));
    cmd.addAll(o.testpmdMemory());
    cmd.addAll(List.of("--no-pci", "-m", "1024", "--log-level", "*:error"));
    cmd.addAll(List.of(devices.split(" ")));
    cmd.addAll(List.of("--", "--forward-mode=" + mode, "--auto-start", "--stats-period=1", "--nb-cores=1",
        "--burst=32"));
    if (mbufsNeeded > 0) {
      // infinite_rx keeps every packet of the capture in an mbuf.
      cmd.add("--total-num-mbufs=" + (mbufsNeeded + 16384));
    }
    if (!extra.isEmpty()) {
      cmd.add(extra);
    }
    List<String> notes = new ArrayList<>();
    return new Subject() {
      @Override
      public List<String> command() {
        return cmd;
      }

      @Override
      public List<String> notes() {
        return notes;
      }

      @Override
      public double measure(Options o, int run) throws IOException, InterruptedException {
        List<String> withPrefix = new ArrayList<>(cmd);
        String prefix = "kbench-tpmd-" + ProcessHandle.current().pid() + "-" + run;
        withPrefix.addAll(1, List.of("--file-prefix", prefix));
        long[] workerTicks = new long[1];
        String out = runTestpmd(withPrefix, o, o.seconds(), workerTicks);
        removeRuntimeDir(prefix);
        // Per-second samples per port, summed over the ports; the seconds before forwarding started
        // (EAL start-up without hugepages takes seconds on a busy machine) and the first, partial one
        // are left out.
        List<Long> samples = new ArrayList<>();
        Matcher m = TESTPMD_PPS.matcher(out);
        while (m.find()) {
          samples.add(Long.parseLong(m.group(1)));
        }
        int ports = devices.split("--vdev").length - 1;
        List<Long> perSecond = new ArrayList<>();
        for (int i = 0; i + ports <= samples.size(); i += ports) {
          long sum = 0;
          for (int p = 0; p < ports; p++) {
            sum += samples.get(i + p);
          }
          if (sum > 0 || !perSecond.isEmpty()) {
            perSecond.add(sum);
          }
        }
        if (perSecond.size() < 2) {
          throw new IllegalStateException("testpmd gave too few samples:\n" + out);
        }
        List<Long> steady = perSecond.subList(1, perSecond.size());
        Matcher total = TESTPMD_TOTAL_RX.matcher(out);
        if (total.find() && workerTicks[0] > 0) {
          double cpuSeconds = workerTicks[0] / 100.0;
          notes.add(String.format(Locale.ROOT, "run %d: rx=%s forwarding-lcore cpu=%.2fs; %.3f Mpps/lcore-cpu-s", run,
              total.group(1), cpuSeconds, Long.parseLong(total.group(1)) / cpuSeconds / 1e6));
        }
        return steady.stream().mapToLong(Long::longValue).average().orElse(0) / 1e6;
      }
    };
  }

  private static Subject gateway(Options o, String profile, Path bootstrap, String pipeline, List<String> extra) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
        "-XX:+UseParallelGC"));
    cmd.addAll(io.keelson.dataplane.gateway.GatewayCommand.jvmFlags(o.keelsonHome())); // bin/keelson gateway's own flags
    cmd.addAll(List.of("-Dkeelson.home=" + o.keelsonHome(),
        "-Dkeelson.native.dir=" + o.keelsonHome().resolve("build/native/dataplane-native"),
        "-cp", o.classpath(), "io.keelson.dataplane.gateway.GatewayCommand",
        "--hw-profile", profile, "--config", bootstrap.toString(), "--pipeline", pipeline,
        "--port-ip", "wire=" + FlowCapture.GATEWAY_IP + "/16", "--snat", "10.99.0.2",
        "--duration", String.valueOf(o.seconds() + 3), "--stats-interval", "1"));
    cmd.addAll(extra);
    List<String> notes = new ArrayList<>();
    return new Subject() {
      @Override
      public List<String> command() {
        return cmd;
      }

      @Override
      public List<String> notes() {
        return notes;
      }

      @Override
      public double measure(Options o, int run) throws IOException, InterruptedException {
        List<String> withPrefix = new ArrayList<>(cmd);
        String prefix = "kbench-gw-" + ProcessHandle.current().pid() + "-" + run;
        withPrefix.addAll(List.of("--eal", "--file-prefix", "--eal", prefix));
        String out = runFor(withPrefix, o, o.seconds() + 20);
        removeRuntimeDir(prefix);
        List<double[]> points = new ArrayList<>();
        String lastStats = null;
        for (String line : out.split("\n")) {
          Matcher m = GATEWAY_STATS.matcher(line);
          if (m.find()) {
            // Processed = received minus what a full ring made the poller free unprocessed (disruptor).
            points.add(new double[] {Double.parseDouble(m.group(1)),
                Double.parseDouble(m.group(2)) - Double.parseDouble(m.group(5)),
                Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5)),
                m.group(6) == null ? 0 : Double.parseDouble(m.group(6))});
            lastStats = line;
          }
        }
        if (points.size() < 4) {
          throw new IllegalStateException("the gateway gave too few stats lines:\n" + out);
        }
        double[] first = points.get(2); // after warm-up (JIT, caches)
        double[] last = points.get(points.size() - 1);
        System.err.println("  " + profile + "/" + pipeline + " run " + run + ": " + lastLine(out));
        notes.add(check(run, lastStats, first, last));
        return (last[1] - first[1]) / (last[0] - first[0]) / 1e6;
      }
    };
  }

  /**
   * One run's counters: packets processed (received and not freed for a full ring), TX, drops by
   * reason, and a flag when more than 0.1% was dropped.
   */
  static String check(int run, String stats, double[] first, double[] last) {
    long rx = (long) last[1];
    long tx = (long) last[2];
    long dropped = 0;
    StringBuilder reasons = new StringBuilder();
    int at = stats.indexOf("drops:");
    Matcher d = DROP.matcher(at < 0 ? "" : stats.substring(at + 6));
    while (d.find()) {
      dropped += Long.parseLong(d.group(2));
      reasons.append(' ').append(d.group(1)).append('=').append(d.group(2));
    }
    double cpu = last[3] - first[3];
    String perCpu = cpu > 0 ? String.format(Locale.ROOT, "%.3f", (last[1] - first[1]) / cpu / 1e6) : "n/a";
    String flag = rx > 0 && dropped * 1000 > rx ? "  <-- " + String.format(Locale.ROOT, "%.1f", 100.0 * dropped / rx)
        + "% dropped: not the forwarding path" : "";
    // A disruptor wiring also runs a ring worker (on another core): its cost per packet counts both threads.
    double worker = last.length > 5 ? last[5] - first[5] : 0;
    String perAllCpu = worker > 0 ? String.format(Locale.ROOT, "; %.3f Mpps/(poller+worker)-cpu-s",
        (last[1] - first[1]) / (cpu + worker) / 1e6) : "";
    return String.format(Locale.ROOT, "run %d: processed=%d tx=%d (%.2f%%) drops=%d%s ring_full=%d; %s Mpps/poller-cpu-s%s%s",
        run, rx, tx, rx == 0 ? 0 : 100.0 * tx / rx, dropped, reasons, (long) last[4], perCpu, perAllCpu, flag);
  }

  /** EAL leaves /var/run/dpdk/PREFIX behind; the prefixes are this runner's own. */
  private static void removeRuntimeDir(String prefix) throws IOException {
    Path dir = Path.of("/var/run/dpdk", prefix);
    if (Files.isDirectory(dir)) {
      try (var files = Files.walk(dir)) {
        for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  private static String lastLine(String out) {
    String[] lines = out.trim().split("\n");
    return lines[lines.length - 1];
  }

  /**
   * Runs testpmd until it forwards (its first non-zero Rx-pps line), then {@code seconds} more; reads
   * the forwarding lcore thread's CPU time (clock ticks) into {@code workerTicks[0]} before stopping it
   * with SIGTERM (which prints the accumulated statistics). Returns its output.
   */
  private static String runTestpmd(List<String> cmd, Options o, int seconds, long[] workerTicks)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(o.workDir(), "subject", ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TESTPMD_START_NANOS;
    Pattern forwarding = Pattern.compile("Rx-pps:\\s+[1-9]");
    while (p.isAlive() && System.nanoTime() < deadline && !forwarding.matcher(Files.readString(log)).find()) {
      Thread.sleep(200);
    }
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      workerTicks[0] = forwardingLcoreTicks(p.pid());
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor();
      }
    }
    return Files.readString(log);
  }

  /** utime + stime (clock ticks) of the process's busiest thread other than its main one: testpmd's forwarding lcore. */
  static long forwardingLcoreTicks(long pid) {
    long best = 0;
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks.toList()) {
        if (task.getFileName().toString().equals(Long.toString(pid))) {
          continue;
        }
        String stat = Files.readString(task.resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        best = Math.max(best, Long.parseLong(f[11]) + Long.parseLong(f[12])); // fields 14 and 15
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return best;
  }

  /** Runs a process for {@code seconds} (then SIGTERM), returns its output. */
  private static String runFor(List<String> cmd, Options o, int seconds) throws IOException, InterruptedException {
    Path log = Files.createTempFile(o.workDir(), "subject", ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor();
      }
    }
    return Files.readString(log);
  }

  private static String bootstrap() {
    StringBuilder endpoints = new StringBuilder();
    for (String b : FlowCapture.BACKENDS) {
      endpoints.append("              - endpoint: { address: { socket_address: { address: ").append(b)
          .append(", port_value: 8080 } } }\n");
    }
    return """
        static_resources:
          listeners:
            - name: vip
              address: { socket_address: { address: %s, port_value: 80 } }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: vip
                        cluster: backends
          clusters:
            - name: backends
              lb_policy: MAGLEV
              load_assignment:
                cluster_name: backends
                endpoints:
                  - lb_endpoints:
        %s""".formatted(FlowCapture.VIP, endpoints);
  }
}
