package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The DPDK availability probe and the process-wide EAL. DPDK is available when the shim loads, its
 * ABI version matches and its struct layouts check out; {@link #initEal} then starts the EAL once per
 * process (DPDK cannot start it twice), and a failure there also makes DPDK unavailable, with why.
 *
 * <p>Threading: all methods are safe from any thread; EAL start-up is serialised.
 */
public final class Dpdk {
  private static final Object LOCK = new Object();
  private static volatile String ealFailure;
  private static volatile List<String> ealArgs;

  private Dpdk() {}

  /** True when the shim is usable (and the EAL, if started, started well). */
  public static boolean isAvailable() {
    return unavailabilityCause() == null;
  }

  /** Why DPDK cannot be used: opt-out, shim not built, libdpdk missing, ABI or layout mismatch, EAL failed; null when it can. */
  public static String unavailabilityCause() {
    String cause = NativeLibrary.cause();
    if (cause != null) {
      return cause;
    }
    cause = LayoutCheck.CAUSE;
    if (cause != null) {
      return cause;
    }
    return ealFailure;
  }

  /** Throws {@link IllegalStateException} naming the cause when DPDK is unavailable. */
  public static void ensureAvailable() {
    String cause = unavailabilityCause();
    if (cause != null) {
      throw new IllegalStateException("DPDK unavailable: " + cause);
    }
  }

  /** Whether {@link #initEal} has succeeded in this process. */
  public static boolean ealStarted() {
    return ealArgs != null;
  }

  /** The arguments the EAL was started with, or null. */
  public static List<String> ealArguments() {
    return ealArgs;
  }

  /**
   * Starts the EAL with these arguments (without argv[0]). The caller's CPU affinity is kept. A
   * second call is a no-op when the EAL is already running (whatever its arguments: compare
   * {@link #ealArguments()} if it matters); after a failure, DPDK stays unavailable.
   */
  public static void initEal(List<String> args) {
    ensureAvailable();
    synchronized (LOCK) {
      if (ealArgs != null) {
        return;
      }
      List<String> argv = new ArrayList<>();
      argv.add("keelson");
      argv.addAll(args);
      // Global arena: EAL keeps pointers into argv for the life of the process.
      Arena arena = Arena.global();
      MemorySegment array = arena.allocate(ADDRESS, argv.size() + 1);
      for (int i = 0; i < argv.size(); i++) {
        array.setAtIndex(ADDRESS, i, arena.allocateFrom(argv.get(i)));
      }
      array.setAtIndex(ADDRESS, argv.size(), MemorySegment.NULL);
      int rc;
      try {
        rc = (int) ShimCalls.Eal.INIT.invokeExact(argv.size(), array);
      } catch (Throwable t) {
        throw new IllegalStateException("dp_eal_init", t);
      }
      if (rc < 0) {
        ealFailure = "EAL init failed with arguments " + args + ": " + strerror(rc)
            + " (errno " + -rc + "; DPDK's own log above says more)";
        throw new DpdkException("dp_eal_init" + args, rc);
      }
      ealArgs = List.copyOf(args);
    }
  }

  /** Makes the calling thread a DPDK lcore, so it can use mempool caches; idempotent per thread. */
  public static void registerThread() {
    int rc;
    try {
      rc = (int) ShimCalls.Eal.THREAD_REGISTER.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("dp_thread_register", t);
    }
    DpdkException.check("dp_thread_register", rc);
  }

  public static void unregisterThread() {
    try {
      int ignored = (int) ShimCalls.Eal.THREAD_UNREGISTER.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("dp_thread_unregister", t);
    }
  }

  /** The calling thread's lcore id, or -1 when it is not registered. */
  public static int lcoreId() {
    try {
      return (int) ShimCalls.Eal.LCORE_ID.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("dp_lcore_id", t);
    }
  }

  /** Creates a virtual device after start-up (e.g. "net_null7", "" or "net_pcap0", "rx_pcap=f.pcap"). */
  public static void createVdev(String name, String args) {
    try (Arena arena = Arena.ofConfined()) {
      int rc = (int) ShimCalls.Eal.VDEV_CREATE.invokeExact(arena.allocateFrom(name), arena.allocateFrom(args));
      DpdkException.check("dp_vdev_create(" + name + ", " + args + ")", rc);
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_vdev_create", t);
    }
  }

  /** Removes a virtual device created by {@link #createVdev} (after its port is stopped and closed). */
  public static void removeVdev(String name) {
    try (Arena arena = Arena.ofConfined()) {
      int rc = (int) ShimCalls.Eal.VDEV_REMOVE.invokeExact(arena.allocateFrom(name));
      DpdkException.check("dp_vdev_remove(" + name + ")", rc);
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_vdev_remove", t);
    }
  }

  /** DPDK's name for an RX ({@code rx = true}) or TX offload bit, e.g. "IPV4_CKSUM"; "UNKNOWN" for unused bits. */
  public static String offloadName(boolean rx, int bit) {
    ensureAvailable();
    try {
      MemorySegment s = rx
          ? (MemorySegment) ShimCalls.Port.RX_OFFLOAD_NAME.invokeExact(bit)
          : (MemorySegment) ShimCalls.Port.TX_OFFLOAD_NAME.invokeExact(bit);
      return s.reinterpret(64).getString(0);
    } catch (Throwable t) {
      throw new IllegalStateException("dp_offload_name", t);
    }
  }

  /** DPDK's message for an errno (positive, or a shim function's negative return). */
  public static String strerror(int rc) {
    try {
      MemorySegment s = (MemorySegment) ShimCalls.Eal.STRERROR.invokeExact(rc);
      return s.reinterpret(256).getString(0);
    } catch (Throwable t) {
      return "errno " + Math.abs(rc);
    }
  }

  /** Runs the layout check once, turning a mismatch into a cause instead of an error. */
  private static final class LayoutCheck {
    static final String CAUSE;

    static {
      String cause = null;
      try {
        long ignored = MbufLayout.SIZEOF_MBUF;
      } catch (ExceptionInInitializerError e) {
        cause = String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e);
      }
      CAUSE = cause;
    }
  }
}
