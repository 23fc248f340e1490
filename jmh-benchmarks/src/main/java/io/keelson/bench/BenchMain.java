package io.keelson.bench;

import io.keelson.bench.e2e.BenchCommand;

/** {@code bin/keelson bench ARGS...} lands here; see {@code bin/keelson bench --help}. Main thread only. */
public final class BenchMain {
  private BenchMain() {
  }

  public static void main(String[] args) throws Exception {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true"); // charts are drawn off-screen
    }
    if (args.length > 0 && args[0].equals("xds-convergence")) {
      // Issue 4's control-plane goal: bin/keelson bench xds-convergence [PROXIES,... [ENDPOINTS,... [ROUNDS [sotw|delta]]]]
      io.keelson.bench.xds.ConvergenceBenchmark.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      System.exit(0);
    }
    System.exit(BenchCommand.run(args, System.out, System.err));
  }
}
