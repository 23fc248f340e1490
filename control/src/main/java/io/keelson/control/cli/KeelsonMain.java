package io.keelson.control.cli;

import java.util.Arrays;

/** {@code bin/keelson}: dispatches sub-commands. Runs on the main thread. */
public final class KeelsonMain {
  private static final String USAGE =
      """
      usage: bin/keelson <command> [options]

      commands:
        proxy     run the data plane (an Envoy v3 bootstrap YAML as config)
        iptables  capture a sidecar's traffic: nat rules in this network namespace (root; --dry-run, --cleanup)
        demo      run the demo: two versions of a service behind a 90/10 canary and a header route
        gateway   run the DPDK L4 gateway (needs DPDK; see hw-profiles/)
        bench     run the benchmarks side by side with nginx, HAProxy and testpmd
        control   run the control plane (xDS on :15010, HTTP API on :15014)
        apply     apply policy documents: apply -f FILE|DIR|- [--dry-run]
        get       show applied documents: get KIND [NAME]
        delete    delete a document: delete KIND NAME
        status    connected proxies, versions per resource type, ACK/NACK and last error
        proxy-config  the resources sent to a proxy: proxy-config PROXY listeners|routes|clusters|endpoints
        explain   where a request would go: explain (--from SERVICE | --gateway NODE --port N) --to HOST --path P [--header k=v]
        token     join tokens for proxies: token create --namespace NS --service-account SA | list | revoke ID
        ca-root   print the mesh root CA (PEM) for proxies' --xds-root-ca
        authz     the RBAC and mTLS modes a workload's security policies resolve to: authz --namespace NS --labels k=v

      'bin/keelson <command> --help' describes each command's options.
      """;

  private KeelsonMain() {}

  public static void main(String[] argv) {
    System.exit(run(argv));
  }

  static int run(String[] argv) {
    if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
      System.out.print(USAGE);
      return argv.length == 0 ? 2 : 0;
    }
    String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
    try {
      return switch (argv[0]) {
        case "proxy" -> ProxyCommand.run(rest);
        case "iptables" -> IptablesCommand.run(rest);
        case "demo" -> io.keelson.control.demo.DemoCommand.run(rest);
        case "gateway" -> GatewayLauncher.run(rest);
        case "control" -> Guarded.run("control", () -> ControlCommand.run(rest));
        case "apply" -> Guarded.run("apply", () -> ClientCommands.apply(rest));
        case "get" -> Guarded.run("get", () -> ClientCommands.get(rest));
        case "delete" -> Guarded.run("delete", () -> ClientCommands.delete(rest));
        case "status" -> Guarded.run("status", () -> ClientCommands.status(rest));
        case "proxy-config" -> Guarded.run("proxy-config", () -> ClientCommands.proxyConfig(rest));
        case "explain" -> Guarded.run("explain", () -> ClientCommands.explain(rest));
        case "token" -> Guarded.run("token", () -> SecurityCommands.run(rest));
        case "ca-root" -> Guarded.run("ca-root", () -> SecurityCommands.caRoot(rest));
        case "authz" -> Guarded.run("authz", () -> SecurityCommands.authz(rest));
        default -> {
          System.err.println("keelson: unknown command '" + argv[0] + "'\n");
          System.err.print(USAGE);
          yield 2;
        }
      };
    } catch (Args.UsageException e) {
      System.err.println("keelson " + e.getMessage());
      return 2;
    }
  }
}
