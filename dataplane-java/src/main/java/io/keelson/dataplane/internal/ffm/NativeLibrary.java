package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds and loads {@code libkeelson_dp.so} once per process and links its symbols. A library that is
 * missing or does not load leaves a cause a person can act on (which path, which error).
 *
 * <p>Threading: immutable after class initialisation; safe from any thread.
 */
final class NativeLibrary {
  /** Directory holding libkeelson_dp.so; bin/keelson, bin/test and surefire set it. */
  static final String NATIVE_DIR_PROP = "keelson.native.dir";
  /** Opt-out: {@code -Dkeelson.dpdk.disable=true} makes DPDK unavailable without touching native code. */
  static final String DISABLE_PROP = "keelson.dpdk.disable";
  static final String LIBRARY_FILE = "libkeelson_dp.so";
  /** The ABI these bindings were written against; must equal the shim's DP_ABI_VERSION. */
  static final int EXPECTED_ABI = 2;

  static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LOOKUP;
  private static final String CAUSE;

  static {
    SymbolLookup lookup = null;
    String cause = null;
    if (Boolean.getBoolean(DISABLE_PROP)) {
      cause = "DPDK disabled by -D" + DISABLE_PROP + "=true";
    } else {
      Path file = libraryPath();
      if (!Files.isRegularFile(file)) {
        cause =
            "native shim not built: "
                + file
                + " does not exist (build it with cmake -S . -B build/native && cmake --build"
                + " build/native; it is skipped when pkg-config cannot find libdpdk)";
      } else {
        try {
          lookup = SymbolLookup.libraryLookup(file, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
          cause =
              "native shim "
                  + file
                  + " did not load (is libdpdk installed, and is --enable-native-access given?): "
                  + e.getMessage();
        }
      }
      if (lookup != null) {
        try {
          MethodHandle abi =
              LINKER.downcallHandle(
                  lookup.findOrThrow("dp_abi_version"),
                  FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT));
          int version = (int) abi.invokeExact();
          if (version != EXPECTED_ABI) {
            cause =
                "native shim "
                    + file
                    + " has ABI version "
                    + version
                    + " but these bindings expect "
                    + EXPECTED_ABI
                    + ": rebuild build/native or the Java modules so they match";
            lookup = null;
          }
        } catch (Throwable t) {
          cause = "native shim " + file + " has no usable dp_abi_version: " + t;
          lookup = null;
        }
      }
    }
    LOOKUP = lookup;
    CAUSE = cause;
  }

  private NativeLibrary() {}

  static Path libraryPath() {
    String dir = System.getProperty(NATIVE_DIR_PROP);
    if (dir == null || dir.isBlank()) {
      String home = System.getProperty("keelson.home", System.getProperty("user.dir"));
      dir = Path.of(home, "build", "native", "dataplane-native").toString();
    }
    return Path.of(dir, LIBRARY_FILE).toAbsolutePath();
  }

  static boolean loaded() {
    return LOOKUP != null;
  }

  /** Why the library is not usable, or null when it is. */
  static String cause() {
    return CAUSE;
  }

  /** Links one shim function; only called from holders after {@link #loaded()} was checked. */
  static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
    if (LOOKUP == null) {
      throw new IllegalStateException("DPDK unavailable: " + CAUSE);
    }
    MemorySegment symbol = LOOKUP.findOrThrow(name);
    return LINKER.downcallHandle(symbol, descriptor, options);
  }
}
