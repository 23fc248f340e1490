package io.keelson.dataplane.internal.ffm;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One EAL per test JVM (DPDK cannot start twice in a process), started lazily by the first test that
 * needs it, without hugepages and with a file prefix unique to this JVM so concurrent DPDK processes
 * on the machine never share state. Devices are created per test with unique names.
 */
public final class TestEal {
  private static final AtomicInteger DEVICES = new AtomicInteger();
  private static volatile String failure;

  private TestEal() {}

  /**
   * Skips the calling test unless DPDK is usable, with the reason in the test report and on stderr;
   * starts the EAL once. Call it per test (@BeforeEach), so every skipped test carries the reason.
   */
  public static synchronized void assumeStarted() {
    skipUnless(Dpdk.isAvailable() || Dpdk.ealStarted(), "DPDK unavailable: " + Dpdk.unavailabilityCause());
    skipUnless(failure == null, "DPDK EAL did not start: " + failure);
    if (!Dpdk.ealStarted()) {
      String prefix = "keelson-test-" + ProcessHandle.current().pid();
      // --no-shconf still leaves an empty runtime directory behind; remove ours when the JVM ends.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        java.io.File dir = new java.io.File("/var/run/dpdk", prefix);
        java.io.File[] files = dir.listFiles();
        if (files != null) {
          for (java.io.File f : files) {
            f.delete();
          }
        }
        dir.delete();
      }));
      try {
        Dpdk.initEal(List.of(
            "--no-huge", "--no-pci", "-m", "256", "--no-shconf",
            "--file-prefix", prefix,
            "--log-level", "lib.eal:error", "--log-level", "pmd:error"));
      } catch (RuntimeException e) {
        failure = e.getMessage();
        skipUnless(false, "DPDK EAL did not start: " + failure);
      }
    }
  }

  /** assumeTrue that also prints the reason, since surefire's console does not show skip messages. */
  public static void skipUnless(boolean condition, String reason) {
    if (!condition) {
      System.err.println("SKIPPED: " + reason);
    }
    assumeTrue(condition, reason);
  }

  /** A fresh virtual device's name with the driver prefix, e.g. "net_null17". */
  public static String uniqueDevice(String driver) {
    return driver + DEVICES.incrementAndGet();
  }
}
