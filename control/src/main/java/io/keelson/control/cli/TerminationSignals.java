package io.keelson.control.cli;

import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT as a latch, so a long-running command can drain and exit 0 the way Envoy does
 * (a JVM shutdown hook alone would end the process with status 143). Thread-safe.
 */
final class TerminationSignals {
  private TerminationSignals() {}

  /** A latch that opens on the first SIGTERM or SIGINT. */
  static CountDownLatch install() {
    CountDownLatch latch = new CountDownLatch(1);
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> latch.countDown());
    }
    return latch;
  }
}
