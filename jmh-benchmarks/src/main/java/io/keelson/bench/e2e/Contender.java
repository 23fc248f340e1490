package io.keelson.bench.e2e;

import java.net.URI;

/**
 * One peer started for one scenario: where the load goes and, for a proxy, the process whose
 * memory and CPU are sampled. {@code process} is null for {@code direct}. Immutable; closing it
 * stops the process tree.
 */
record Contender(String peer, URI target, ManagedProcess process) implements AutoCloseable {
  @Override
  public void close() {
    if (process != null) {
      process.close();
    }
  }
}
