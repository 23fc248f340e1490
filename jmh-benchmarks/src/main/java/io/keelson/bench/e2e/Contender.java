package io.keelson.bench.e2e;

import java.net.URI;

/**
 * One peer started for one scenario: where the load goes and, for a proxy, the process whose
 * memory and CPU are sampled. {@code process} is null for {@code direct}; {@code companion}, when
 * non-null, is something the peer needs for the run (the OTLP sink of a traced Keelson) and is closed
 * after the process. Immutable; closing it stops the process tree.
 */
record Contender(String peer, URI target, ManagedProcess process, AutoCloseable companion) implements AutoCloseable {
  /** A contender without a companion. */
  Contender(String peer, URI target, ManagedProcess process) {
    this(peer, target, process, null);
  }

  @Override
  public void close() {
    if (process != null) {
      process.close();
    }
    if (companion != null) {
      try {
        companion.close();
      } catch (Exception e) {
        // a companion (e.g. the OTLP sink) failing to close does not affect the measurement
      }
    }
  }
}
