package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * libc functions this package calls directly, without the DPDK shim ({@code sched_setaffinity}, {@code getsockopt},
 * {@code setsockopt}, ...): one linker, and errno captured the same way for every call. A handle made with
 * {@link #withErrno} takes a segment of {@link #ERRNO_STATE} as its first argument; {@link #errno} reads it.
 *
 * <p>Threading: stateless; the handles are safe from any thread.
 */
final class Libc {
  /** The captured-state segment's layout: allocate one per call (or per thread) and pass it first. */
  static final StructLayout ERRNO_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = ERRNO_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker LINKER = Linker.nativeLinker();
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  private Libc() {}

  /** A downcall to libc's {@code name} that captures errno into its first (extra) argument. */
  static MethodHandle withErrno(String name, FunctionDescriptor descriptor) {
    return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor, CAPTURE_ERRNO);
  }

  /** A plain downcall to libc's {@code name}. */
  static MethodHandle plain(String name, FunctionDescriptor descriptor) {
    return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor);
  }

  /** The errno a {@link #withErrno} call left in {@code state}. */
  static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }
}
