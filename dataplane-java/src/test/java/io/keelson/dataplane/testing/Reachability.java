package io.keelson.dataplane.testing;

import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Whether an object a test dropped is collected (a closed proxy must be: a JVM runs hundreds). With
 * {@code -Dkeelson.test.heapDumpOnLeak=true} a failure leaves a heap dump in java.io.tmpdir to find the GC root in.
 * Stateless.
 */
public final class Reachability {
  private Reachability() {}

  /** True once {@code ref} is cleared, collecting for up to 20 s (threads that end on close may take a while). */
  public static boolean collected(WeakReference<?> ref) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (ref.get() != null && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(50);
    }
    if (ref.get() != null && Boolean.getBoolean("keelson.test.heapDumpOnLeak")) {
      dumpHeap(Path.of(System.getProperty("java.io.tmpdir"), "proxy-release-" + ProcessHandle.current().pid() + ".hprof"));
    }
    return ref.get() == null;
  }

  private static void dumpHeap(Path file) {
    try {
      Files.deleteIfExists(file);
      var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
      bean.dumpHeap(file.toString(), true);
      System.err.println("heap dumped to " + file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
