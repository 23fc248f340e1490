package io.keelson.control.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Runs a {@code bin/keelson} command in the test's JVM ({@link KeelsonMain#run}) with its standard output and error
 * captured. One command at a time across all test classes: {@code System.out} and {@code System.err} are global.
 */
final class CliRun {
  private CliRun() {}

  /** What a command returned and printed. */
  record Result(int code, String out, String err) {}

  static synchronized Result cli(String... argv) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      int code = KeelsonMain.run(argv);
      return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }
}
