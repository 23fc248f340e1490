package io.keelson.control.cli;

import io.keelson.control.capture.IptablesRules;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/keelson iptables}: installs (or with {@code --cleanup} removes) the nat rules that send
 * a sidecar's traffic to it, in the current network namespace, as Istio's istio-iptables does, in
 * one {@code iptables-restore --noflush} transaction. Runs on the main thread, once.
 */
final class IptablesCommand {
  static final String HELP =
      """
      usage: bin/keelson iptables --proxy-uid UID [options]     (as root, in the workload's network namespace)

      Installs nat-table rules (chains KEELSON_INBOUND, KEELSON_IN_REDIRECT, KEELSON_OUTPUT, KEELSON_REDIRECT)
      that redirect outbound TCP to the sidecar's outbound port and inbound TCP to its inbound port, as
      istio-iptables does; run the sidecar with 'bin/keelson proxy --xds ... --capture iptables'. IPv4 by default;
      with --ipv6 the same chains in ip6tables too (a dual-stack pod).

        --proxy-uid UID[,UID]           the user(s) the sidecar runs as: their traffic is not redirected
                                        (except their calls to this pod's own IP over lo: inbound)
        --proxy-gid GID[,GID]           likewise by group (at least one of --proxy-uid, --proxy-gid)
        --outbound-port N               where outbound TCP goes (default 15001)
        --inbound-port N                where inbound TCP goes (default 15006)
        --admin-port N                  the sidecar's admin port, never captured inbound (default 9901)
        --include-inbound-ports P       '*' (default) or a list of ports to capture; '' captures none
        --exclude-inbound-ports P       ports not captured when all are (the admin port always is not)
        --exclude-outbound-ports P      destination ports not captured
        --exclude-outbound-cidrs C      destinations not captured, e.g. 10.96.0.1/32,169.254.169.254,fd00::1
        --include-outbound-cidrs C      '*' (default) or the destinations to capture (IPv6 ones need --ipv6)
        --ipv6                          also capture IPv6 (Istio's dual-stack pods): the same rules through
                                        ip6tables-restore (::1 for 127.0.0.1, ::6 for 127.0.0.6, each family's
                                        CIDRs), and ::6/128 added to lo (the sidecar's IPv6 inbound passthrough
                                        source); off by default. DNS capture stays IPv4 (a resolver at an IPv6
                                        address is not redirected)
        --redirect-dns                  also redirect the app's DNS (UDP and TCP port 53) to the sidecar's DNS
                                        proxy (istio-iptables' --redirect-dns; chain KEELSON_DNS); run the
                                        sidecar with --dns-capture
        --dns-port N                    where DNS goes with --redirect-dns (default 15053)
        --dry-run                       print the iptables-restore input and change nothing
        --cleanup                       remove what an earlier run installed, IPv4 and IPv6 (with --dry-run: print it)

      Running it again replaces the rules (without --ipv6 it removes an earlier --ipv6 run's IPv6 rules).
      Traffic to 127.0.0.1 is never redirected.
      """;
  private static final Set<String> WITH_VALUE = Set.of("--proxy-uid", "--proxy-gid", "--outbound-port",
      "--inbound-port", "--admin-port", "--include-inbound-ports", "--exclude-inbound-ports",
      "--exclude-outbound-ports", "--exclude-outbound-cidrs", "--include-outbound-cidrs", "--dns-port");
  private static final long TIMEOUT_SECONDS = 20;

  private IptablesCommand() {}

  static int run(String[] argv) {
    if (argv.length == 1 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
      System.out.print(HELP);
      return 0;
    }
    Args args = new Args("iptables", argv, WITH_VALUE, Set.of("--dry-run", "--cleanup", "--redirect-dns",
        "--ipv6"));
    boolean dryRun = args.has("--dry-run");
    IptablesRules rules = null;
    if (!args.has("--cleanup")) {
      try {
        rules = rules(args); // bad flags first: they are an error with or without root
      } catch (IllegalArgumentException e) {
        System.err.println("keelson iptables: " + e.getMessage());
        return 2;
      }
    }
    boolean root = isRoot();
    if (!dryRun && !root) {
      System.err.println("keelson iptables: must run as root (it changes the nat table of this network namespace);"
          + " use --dry-run to print the rules without root");
      return 1;
    }
    if (rules == null) {
      return cleanup(dryRun, root);
    }
    boolean ipv6 = args.has("--ipv6");
    List<IptablesRules.Family> families = ipv6 ? List.of(IptablesRules.Family.IPV4, IptablesRules.Family.IPV6)
        : List.of(IptablesRules.Family.IPV4);
    if (!root) {
      System.out.println("# not root: the current nat table was not read; this is the input for a namespace without"
          + " Keelson's rules");
    }
    try {
      for (IptablesRules.Family family : families) {
        apply(family, rules.install(root ? save(family) : "", family), dryRun);
      }
      String stale6 = ipv6 || !root ? null : ipv6Table();
      String cleanup6 = stale6 == null ? null : IptablesRules.cleanup(stale6);
      if (cleanup6 != null) {
        apply(IptablesRules.Family.IPV6, cleanup6, dryRun); // an earlier --ipv6 run's chains (maybe another proxy uid)
      }
      if (ipv6 && !dryRun) {
        addInboundPassthroughAddress();
      }
    } catch (IOException e) {
      System.err.println("keelson iptables: " + e.getMessage());
      return 1;
    }
    if (dryRun) {
      return 0;
    }
    System.err.printf("keelson iptables: outbound TCP -> :%d, inbound TCP (%s) -> :%d; proxy uid %s gid %s not"
            + " redirected%n", rules.outboundPort(), String.join(",", rules.includeInboundPorts()), rules.inboundPort(),
        rules.proxyUids(), rules.proxyGids());
    if (rules.dnsPort() > 0) {
      System.err.printf("keelson iptables: DNS (udp and tcp port 53) -> :%d%n", rules.dnsPort());
    }
    if (ipv6) {
      System.err.println("keelson iptables: IPv6 too (ip6tables); ::6/128 on lo");
    }
    return 0;
  }

  /**
   * {@code ip -6 addr add ::6/128 dev lo} unless lo has it (Istio's configureIPv6Addresses): IPv6 loopback is ::1 alone,
   * so the sidecar could not bind its IPv6 inbound passthrough source otherwise.
   */
  private static void addInboundPassthroughAddress() throws IOException {
    String ip = IptablesRules.Family.IPV6.inboundPassthroughSource();
    if (!exec(List.of("ip", "-6", "addr", "show", "dev", "lo"), null).contains(" " + ip + " ")) {
      exec(List.of("ip", "-6", "addr", "add", ip, "dev", "lo"), null);
    }
  }

  /** The rules the flags describe; an IllegalArgumentException names the bad flag. */
  static IptablesRules rules(Args args) {
    int adminPort = IptablesRules.port("--admin-port", args.get("--admin-port", "9901"));
    List<Integer> excludeInbound = new java.util.ArrayList<>(IptablesRules.ports("--exclude-inbound-ports",
        args.get("--exclude-inbound-ports", "")));
    if (!excludeInbound.contains(adminPort)) {
      excludeInbound.add(adminPort);
    }
    return new IptablesRules(
        IptablesRules.port("--outbound-port", args.get("--outbound-port", "15001")),
        IptablesRules.port("--inbound-port", args.get("--inbound-port", "15006")),
        IptablesRules.ids("--proxy-uid", args.get("--proxy-uid", "")),
        IptablesRules.ids("--proxy-gid", args.get("--proxy-gid", "")),
        IptablesRules.portsOrWildcard("--include-inbound-ports", args.get("--include-inbound-ports", "*")),
        excludeInbound,
        IptablesRules.ports("--exclude-outbound-ports", args.get("--exclude-outbound-ports", "")),
        IptablesRules.cidrsOrWildcard("--exclude-outbound-cidrs", args.get("--exclude-outbound-cidrs", ""), false),
        includeOutboundCidrs(args),
        dnsPort(args));
  }

  /** {@code --include-outbound-cidrs}; an IPv6 one needs {@code --ipv6} (without it ip6tables is not programmed). */
  private static List<String> includeOutboundCidrs(Args args) {
    List<String> cidrs = IptablesRules.cidrsOrWildcard("--include-outbound-cidrs",
        args.get("--include-outbound-cidrs", "*"), true);
    for (String c : cidrs) {
      if (c.contains(":") && !args.has("--ipv6")) {
        throw new IllegalArgumentException("--include-outbound-cidrs: '" + c + "' is IPv6, which is captured only with"
            + " --ipv6; add --ipv6 or list IPv4 CIDRs only");
      }
    }
    return cidrs;
  }

  private static int dnsPort(Args args) {
    if (!args.has("--redirect-dns")) {
      if (args.has("--dns-port")) {
        throw new IllegalArgumentException("--dns-port is only used with --redirect-dns");
      }
      return 0;
    }
    return IptablesRules.port("--dns-port", args.get("--dns-port", "15053"));
  }

  private static int cleanup(boolean dryRun, boolean root) {
    if (!root) {
      System.err.println("keelson iptables: --cleanup reads the nat table, which needs root");
      return 1;
    }
    try {
      boolean any = false;
      for (IptablesRules.Family family : IptablesRules.Family.values()) {
        String current = family == IptablesRules.Family.IPV6 ? ipv6Table() : save(family);
        String input = current == null ? null : IptablesRules.cleanup(current);
        if (input != null) {
          any = true;
          apply(family, input, dryRun);
        }
      }
      if (!any) {
        System.err.println("keelson iptables: no Keelson rules in this network namespace; nothing to remove");
      } else if (!dryRun) {
        System.err.println("keelson iptables: removed Keelson's nat rules");
      }
      return 0;
    } catch (IOException e) {
      System.err.println("keelson iptables: " + e.getMessage());
      return 1;
    }
  }

  /**
   * The IPv6 nat table, or null when it cannot be read: no ip6tables, or no IPv6 nat in this kernel
   * ({@code ip6tables-save} fails); either way nothing of ours can be in it.
   */
  private static String ipv6Table() {
    try {
      return save(IptablesRules.Family.IPV6);
    } catch (IOException e) {
      return null;
    }
  }

  /** Prints ({@code dryRun}) or applies {@code input} to {@code family}'s table. */
  private static void apply(IptablesRules.Family family, String input, boolean dryRun) throws IOException {
    if (dryRun) {
      System.out.println("# " + restoreCommand(family) + " --noflush");
      System.out.print(input);
    } else {
      restore(family, input);
    }
  }

  private static String restoreCommand(IptablesRules.Family family) {
    return family == IptablesRules.Family.IPV4 ? "iptables-restore" : "ip6tables-restore";
  }

  /** {@code iptables-save -t nat} (or ip6tables-save): {@code family}'s table as it is now. */
  static String save(IptablesRules.Family family) throws IOException {
    return exec(List.of(family == IptablesRules.Family.IPV4 ? "iptables-save" : "ip6tables-save", "-t", "nat"), null);
  }

  /** Applies {@code input} to {@code family}'s table in one transaction ({@code --noflush}: other rules stay). */
  static void restore(IptablesRules.Family family, String input) throws IOException {
    exec(List.of(restoreCommand(family), "--noflush"), input);
  }

  private static String exec(List<String> command, String stdin) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(command.getFirst() + " cannot be run (" + e.getMessage()
          + "); install iptables (Debian: apt-get install iptables)", e);
    }
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + command.getFirst(), e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out.strip()
          + (stdin == null ? "" : "\ninput was:\n" + stdin));
    }
    return out;
  }

  /** Effective uid 0, read from /proc/self/status (no JNI). */
  static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }
}
