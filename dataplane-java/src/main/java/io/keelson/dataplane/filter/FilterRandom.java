package io.keelson.dataplane.filter;

import java.util.concurrent.ThreadLocalRandom;

/** The random source filters sample percentages with; injectable for deterministic tests. Thread-safe. */
@FunctionalInterface
public interface FilterRandom {
  FilterRandom DEFAULT = bound -> ThreadLocalRandom.current().nextInt(bound);

  /** A uniform int in [0, bound). */
  int nextInt(int bound);
}
