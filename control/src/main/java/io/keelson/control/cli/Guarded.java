package io.keelson.control.cli;

import java.util.concurrent.Callable;

/** Runs a control-plane sub-command, turning unexpected failures into a message and exit code 1. Main thread. */
final class Guarded {
  private Guarded() {}

  static int run(String command, Callable<Integer> body) {
    try {
      return body.call();
    } catch (Args.UsageException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    } catch (Exception e) {
      System.err.println("keelson " + command + ": " + e);
      return 1;
    }
  }
}
