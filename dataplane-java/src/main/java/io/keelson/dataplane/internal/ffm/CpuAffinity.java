package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.BitSet;

/**
 * The calling thread's CPU affinity through libc's {@code sched_setaffinity}/{@code sched_getaffinity}
 * (no shim needed): pollers pin themselves to their core. Works without DPDK.
 *
 * <p>Threading: every method acts on the calling thread only.
 */
public final class CpuAffinity {
  /** glibc's cpu_set_t: 1024 bits. */
  private static final int SET_BYTES = 128;

  private static final class Calls {
    private static final FunctionDescriptor FD = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG,
        java.lang.foreign.ValueLayout.ADDRESS);
    static final MethodHandle SET = Libc.withErrno("sched_setaffinity", FD);
    static final MethodHandle GET = Libc.withErrno("sched_getaffinity", FD);

    private Calls() {}
  }

  private CpuAffinity() {}

  /** The CPUs the calling thread may run on. */
  public static BitSet current() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment set = arena.allocate(SET_BYTES);
      MemorySegment state = arena.allocate(Libc.ERRNO_STATE);
      int rc = (int) Calls.GET.invokeExact(state, 0, (long) SET_BYTES, set);
      if (rc != 0) {
        throw new IllegalStateException("sched_getaffinity failed: errno " + Libc.errno(state));
      }
      return BitSet.valueOf(set.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    } catch (IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("sched_getaffinity", t);
    }
  }

  /** Restricts the calling thread to these CPUs. */
  public static void set(BitSet cpus) {
    if (cpus.isEmpty()) {
      throw new IllegalArgumentException("an empty CPU set would leave the thread nowhere to run");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment set = arena.allocate(SET_BYTES);
      byte[] bytes = cpus.toByteArray();
      if (bytes.length > SET_BYTES) {
        throw new IllegalArgumentException("CPU " + cpus.length() + " is beyond cpu_set_t's 1024");
      }
      MemorySegment.copy(bytes, 0, set, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
      MemorySegment state = arena.allocate(Libc.ERRNO_STATE);
      int rc = (int) Calls.SET.invokeExact(state, 0, (long) SET_BYTES, set);
      if (rc != 0) {
        throw new IllegalStateException(
            "sched_setaffinity(" + cpus + ") failed: errno " + Libc.errno(state));
      }
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("sched_setaffinity", t);
    }
  }

  /** Pins the calling thread to one CPU. */
  public static void pin(int cpu) {
    BitSet one = new BitSet();
    one.set(cpu);
    set(one);
  }

  /** Lets the calling thread run on every online CPU again. */
  public static void unpin() {
    BitSet all = new BitSet();
    all.set(0, Runtime.getRuntime().availableProcessors() > 0 ? onlineCpus() : 1);
    set(all);
  }

  private static int onlineCpus() {
    // availableProcessors() honours the current affinity; a pinned thread needs the machine's count.
    try {
      String online = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/online")).trim();
      int max = 0;
      for (String part : online.split(",")) {
        String[] range = part.split("-");
        max = Math.max(max, Integer.parseInt(range[range.length - 1]));
      }
      return max + 1;
    } catch (java.io.IOException | NumberFormatException e) {
      return Runtime.getRuntime().availableProcessors();
    }
  }
}
