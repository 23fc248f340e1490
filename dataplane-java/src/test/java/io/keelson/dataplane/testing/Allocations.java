package io.keelson.dataplane.testing;

import java.lang.management.ManagementFactory;

/** What the calling thread allocates, measured by {@link com.sun.management.ThreadMXBean}; for allocation tests. */
public final class Allocations {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  public static final int WARMUP = 50_000;
  public static final int N = 100_000;

  private Allocations() {}

  /** Bytes allocated per call by this thread: the least of three measured rounds, after a warm-up for the JIT. */
  public static double bytesPerCall(Runnable call) {
    for (int i = 0; i < WARMUP; i++) {
      call.run();
    }
    double least = Double.MAX_VALUE;
    for (int round = 0; round < 3; round++) {
      long before = THREADS.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < N; i++) {
        call.run();
      }
      least = Math.min(least, (THREADS.getCurrentThreadAllocatedBytes() - before) / (double) N);
    }
    return least;
  }
}
