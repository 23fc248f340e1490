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
    System.exit(BenchCommand.run(args, System.out, System.err));
  }
}
