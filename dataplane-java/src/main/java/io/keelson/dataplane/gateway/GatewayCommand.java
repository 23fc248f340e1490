package io.keelson.dataplane.gateway;

import io.keelson.dataplane.hw.HardwareProfile;
import io.keelson.dataplane.hw.HardwareProfiles;
import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.GatewayLimits;
import io.keelson.dataplane.pipeline.PipelineMode;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code keelson gateway}: the DPDK L4 gateway as a process. Reads a hardware profile and an Envoy
 * bootstrap (VIPs = tcp_proxy listeners on MAGLEV clusters), starts the pollers, serves counters on
 * the admin address, prints a stats line periodically, and re-reads the config file when it changes
 * (tracked flows keep their backends). Exit codes: 0 done, 1 runtime failure, 2 usage or config error.
 *
 * <p>Threading: {@link #run} blocks the calling thread until the duration ends or the process stops.
 */
public final class GatewayCommand {
  /**
   * The gateway JVM's flags file, relative to the project root: a java {@code @argfile} that {@code
   * bin/keelson gateway} and the packet benchmark's gateway runs both pass, so they cannot drift apart.
   * It holds C2 inlining budgets and one compile root per stage (measured in
   * docs/gateway-packet-path.md, sessions 9 and 10).
   */
  public static final String JVM_FLAGS_FILE = "bin/lib/gateway-jvm.flags";

  /**
   * The launcher arguments that apply {@link #JVM_FLAGS_FILE} under {@code keelsonHome}.
   *
   * @throws IllegalStateException naming the path when the file is missing
   */
  public static List<String> jvmFlags(Path keelsonHome) {
    Path file = keelsonHome.resolve(JVM_FLAGS_FILE);
    if (!Files.isRegularFile(file)) {
      throw new IllegalStateException("the gateway's JVM flags file " + file + " is missing (expected under the"
          + " project root " + keelsonHome + ")");
    }
    return List.of("@" + file);
  }

  static final String USAGE = """
      usage: keelson gateway --hw-profile NAME|FILE --config ENVOY_BOOTSTRAP.yaml [options]
        --port-ip PORT=IP/LEN[ via GW]  the gateway's address on a wire port (a port role in the profile)
        --port-ip6 PORT=ADDR/LEN[ via GW6]
                                        the gateway's IPv6 address and on-link prefix on a wire port; GW6:
                                        the router for off-link IPv6 peers (on-link or fe80::/10)
        --snat IP                       a gateway-local source address for full NAT, IPv4 or IPv6 (repeatable;
                                        default: the address of the last --port-ip, and of the last --port-ip6)
        --var NAME=VALUE                fills ${NAME} in the profile (iface, tap, pcap, pci, ...)
        --admin HOST:PORT               serve /ready, /stats, /stats/prometheus (port 0: any free port)
        --pipeline inline|disruptor     run the stages on the poller thread (default) or on a ring
        --duration SECONDS              stop after this long (default: run until killed)
        --stats-interval SECONDS        print a stats line this often (default 1; 0: never)
        --no-pin                        do not pin pollers to the profile's cores
        --eal ARG                       an extra EAL argument (repeatable)
        --syn-rate PER_SECOND[/BURST]   SYNs per second (and burst) allowed per client address
                                        (default: GatewayLimits.defaults(), 200/400)
      """;

  private GatewayCommand() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("keelson gateway: " + e.getMessage());
      err.print(USAGE);
      return 2;
    }
    if (o.help) {
      out.print(USAGE);
      return 0;
    }
    if (!Dpdk.isAvailable()) {
      err.println("keelson gateway: DPDK is unavailable: " + Dpdk.unavailabilityCause());
      return 1;
    }
    GatewaySettings settings;
    try {
      HardwareProfile profile = HardwareProfiles.load(o.profile, o.vars);
      BootstrapVips.Vips vips = BootstrapVips.load(o.config);
      List<String> snat = new ArrayList<>(o.snat);
      if (snat.stream().noneMatch(a -> a.indexOf(':') < 0) && !o.portIps.isEmpty()) {
        snat.add(lastAddress(o.portIps));
      }
      if (snat.stream().noneMatch(a -> a.indexOf(':') >= 0) && !o.portIps6.isEmpty()) {
        snat.add(lastAddress(o.portIps6));
      }
      GatewayLimits limits = GatewayLimits.defaults();
      if (o.synPerSecond > 0) {
        limits = limits.withSynRate(o.synPerSecond, o.synBurst > 0 ? o.synBurst : limits.synBurst());
      }
      settings = new GatewaySettings(profile, o.mode, o.portIps, snat, vips.ipv4(), limits, o.eal, o.pin, o.portIps6,
          vips.ipv6());
    } catch (IllegalArgumentException e) {
      err.println("keelson gateway: " + e.getMessage());
      return 2;
    }
    CountDownLatch stop = new CountDownLatch(1);
    try (GatewayRuntime runtime = GatewayRuntime.start(settings)) {
      GatewayAdmin admin = o.admin == null ? null : new GatewayAdmin(o.admin[0], Integer.parseInt(o.admin[1]),
          () -> GatewayMetrics.prometheus(runtime), () -> GatewayMetrics.statsLine(runtime));
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      out.println("gateway ready: profile=" + settings.profile().name() + " pipeline="
          + settings.mode().name().toLowerCase() + " ports=" + runtime.ports().keySet() + " vips="
          + (settings.vips().size() + settings.vips6().size()) + (admin == null ? "" : " admin=http://" + o.admin[0] + ":" + admin.port()));
      out.flush();
      long deadline = o.durationSeconds > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(o.durationSeconds) : Long.MAX_VALUE;
      long nextStats = System.nanoTime();
      long configStamp = Files.getLastModifiedTime(o.config).toMillis();
      try {
        while (System.nanoTime() < deadline && runtime.failure() == null) {
          if (stop.await(200, TimeUnit.MILLISECONDS)) {
            break;
          }
          long stamp = Files.getLastModifiedTime(o.config).toMillis();
          if (stamp != configStamp) {
            configStamp = stamp;
            try {
              BootstrapVips.Vips reloaded = BootstrapVips.load(o.config);
              runtime.updateVips(reloaded.ipv4(), reloaded.ipv6());
              out.println("config reloaded: " + o.config);
            } catch (IllegalArgumentException e) {
              err.println("config not reloaded, the last good one stays: " + e.getMessage());
            }
          }
          if (o.statsInterval > 0 && System.nanoTime() >= nextStats) {
            out.println(GatewayMetrics.statsLine(runtime));
            out.flush();
            nextStats = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.statsInterval);
          }
        }
        out.println(GatewayMetrics.statsLine(runtime));
        if (runtime.failure() != null) {
          err.println("keelson gateway: a poller failed: " + runtime.failure());
          runtime.failure().printStackTrace(err);
          return 1;
        }
        return 0;
      } finally {
        if (admin != null) {
          admin.close();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } catch (Exception e) {
      err.println("keelson gateway: " + e.getMessage());
      e.printStackTrace(err);
      return 1;
    }
  }

  private static String lastAddress(Map<String, String> portIps) {
    String last = null;
    for (String v : portIps.values()) {
      last = v;
    }
    return last.split("/")[0];
  }

  /** Parsed command line. */
  private static final class Options {
    String profile;
    Path config;
    String[] admin;
    final Map<String, String> portIps = new LinkedHashMap<>();
    final Map<String, String> portIps6 = new LinkedHashMap<>();
    final List<String> snat = new ArrayList<>();
    final Map<String, String> vars = new LinkedHashMap<>();
    final List<String> eal = new ArrayList<>();
    PipelineMode mode = PipelineMode.INLINE;
    long durationSeconds;
    long statsInterval = 1;
    boolean pin = true;
    boolean help;
    int synPerSecond;
    int synBurst;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--help", "-h" -> o.help = true;
          case "--hw-profile" -> o.profile = value(args, ++i, a);
          case "--config" -> o.config = Path.of(value(args, ++i, a));
          case "--admin" -> {
            String v = value(args, ++i, a);
            int colon = v.lastIndexOf(':');
            if (colon < 0) {
              throw new IllegalArgumentException("--admin " + v + ": expected HOST:PORT");
            }
            o.admin = new String[] {v.substring(0, colon), v.substring(colon + 1)};
          }
          case "--port-ip" -> pair(value(args, ++i, a), a, o.portIps);
          case "--port-ip6" -> pair(value(args, ++i, a), a, o.portIps6);
          case "--var" -> pair(value(args, ++i, a), a, o.vars);
          case "--snat" -> o.snat.add(value(args, ++i, a));
          case "--eal" -> o.eal.add(value(args, ++i, a));
          case "--pipeline" -> o.mode = PipelineMode.parse(value(args, ++i, a));
          case "--duration" -> o.durationSeconds = number(value(args, ++i, a), a);
          case "--stats-interval" -> o.statsInterval = number(value(args, ++i, a), a);
          case "--no-pin" -> o.pin = false;
          case "--syn-rate" -> {
            String v = value(args, ++i, a);
            String[] parts = v.split("/", 2);
            try {
              o.synPerSecond = Integer.parseInt(parts[0].trim());
              o.synBurst = parts.length > 1 ? Integer.parseInt(parts[1].trim()) : 0;
            } catch (NumberFormatException e) {
              o.synPerSecond = -1;
            }
            if (o.synPerSecond <= 0 || (parts.length > 1 && o.synBurst <= 0)) {
              throw new IllegalArgumentException("--syn-rate " + v + ": expected PER_SECOND[/BURST], whole numbers > 0");
            }
          }
          default -> throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      }
      if (o.help) {
        return o;
      }
      if (o.profile == null) {
        throw new IllegalArgumentException("--hw-profile is required (one of " + HardwareProfiles.known() + ")");
      }
      if (o.config == null) {
        throw new IllegalArgumentException("--config is required (an Envoy bootstrap YAML)");
      }
      if (!Files.isRegularFile(o.config)) {
        throw new IllegalArgumentException("--config " + o.config + ": no such file");
      }
      return o;
    }

    private static String value(String[] args, int i, String flag) {
      if (i >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      return args[i];
    }

    private static void pair(String v, String flag, Map<String, String> into) {
      int eq = v.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(flag + " " + v + ": expected NAME=VALUE");
      }
      into.put(v.substring(0, eq), v.substring(eq + 1));
    }

    private static long number(String v, String flag) {
      try {
        return Long.parseLong(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " " + v + ": expected a whole number of seconds");
      }
    }
  }
}
