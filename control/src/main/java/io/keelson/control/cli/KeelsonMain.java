package io.keelson.control.cli;

import java.util.Arrays;

/** {@code bin/keelson}: dispatches sub-commands. Runs on the main thread. */
public final class KeelsonMain {
  private static final String USAGE =
      """
      usage: bin/keelson <command> [options]

      commands:
        proxy     run the data plane (an Envoy v3 bootstrap YAML as config)
        demo      run the demo: two versions of a service behind a 90/10 canary and a header route
        gateway   run the DPDK L4 gateway (needs DPDK; see hw-profiles/)
        bench     run the benchmarks side by side with nginx, HAProxy and testpmd

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
        case "demo" -> io.keelson.control.demo.DemoCommand.run(rest);
        case "gateway" -> GatewayLauncher.run(rest);
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
