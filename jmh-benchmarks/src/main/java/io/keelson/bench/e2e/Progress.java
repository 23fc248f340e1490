package io.keelson.bench.e2e;

import java.io.PrintStream;

/**
 * The progress line on stderr: scenario, peer, run k of n, and the time left, estimated from the
 * planned run lengths and corrected by how long steps really took. Single-threaded.
 */
final class Progress {
  private final PrintStream out;
  private final int totalSteps;
  private final double plannedSecondsPerStep;
  private final long startNanos = System.nanoTime();
  private int done;

  Progress(PrintStream out, int totalSteps, double plannedSecondsPerStep) {
    this.out = out;
    this.totalSteps = totalSteps;
    this.plannedSecondsPerStep = plannedSecondsPerStep;
  }

  void step(String scenario, String peer, int run, int runs) {
    out.printf("keelson bench: %s · %s · run %d of %d · step %d/%d · ~%s left%n",
      scenario, peer, run, runs, done + 1, totalSteps, format(secondsLeft()));
    done++;
  }

  /** Steps that will not run (a peer that did not start). */
  void skip(int steps) {
    done += steps;
  }

  void note(String message) {
    out.println("keelson bench: " + message);
  }

  double secondsLeft() {
    int left = totalSteps - done;
    if (done == 0) {
      return left * plannedSecondsPerStep;
    }
    double perStep = (System.nanoTime() - startNanos) / 1e9 / done;
    return left * Math.max(perStep, plannedSecondsPerStep);
  }

  static String format(double seconds) {
    long s = Math.round(seconds);
    return s >= 60 ? (s / 60) + " min " + (s % 60) + " s" : s + " s";
  }
}
