package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * The shim's functions, one holder per group (jextract style): each holder's {@code static final}
 * handles are linked when the group is first used, and the JIT folds them as constants. Signatures
 * mirror dataplane-native/include/keelson_dp.h: uint16_t is JAVA_SHORT, uint32_t JAVA_INT, pointers ADDRESS.
 *
 * <p>Threading: handles are immutable; each call's own threading rule is in keelson_dp.h.
 */
final class ShimCalls {
  private ShimCalls() {}

  private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... options) {
    return NativeLibrary.downcall(name, fd, options);
  }

  private static MethodHandle intOf(String name) {
    return link(name, FunctionDescriptor.of(JAVA_INT));
  }

  static final class Eal {
    static final MethodHandle INIT = link("dp_eal_init", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle CLEANUP = intOf("dp_eal_cleanup");
    static final MethodHandle THREAD_REGISTER = intOf("dp_thread_register");
    static final MethodHandle THREAD_UNREGISTER = intOf("dp_thread_unregister");
    static final MethodHandle LCORE_ID = intOf("dp_lcore_id");
    static final MethodHandle STRERROR = link("dp_strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle VDEV_CREATE =
        link("dp_vdev_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle VDEV_REMOVE = link("dp_vdev_remove", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    private Eal() {}
  }

  static final class Mempool {
    static final MethodHandle CREATE =
        link(
            "dp_mempool_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_SHORT, JAVA_INT, ADDRESS));
    static final MethodHandle FREE = link("dp_mempool_free", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle AVAIL = link("dp_mempool_avail", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle RANGE =
        link("dp_mempool_range", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    private Mempool() {}
  }

  static final class Port {
    static final MethodHandle COUNT = intOf("dp_port_count");
    static final MethodHandle BY_NAME =
        link("dp_port_by_name", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle NAME =
        link("dp_port_name", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS, JAVA_INT));
    static final MethodHandle DRIVER =
        link("dp_port_driver", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS, JAVA_INT));
    static final MethodHandle RX_OFFLOAD_NAME =
        link("dp_rx_offload_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle TX_OFFLOAD_NAME =
        link("dp_tx_offload_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle OFFLOAD_CAPA =
        link("dp_port_offload_capa", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS, ADDRESS));
    static final MethodHandle CONFIGURE =
        link(
            "dp_port_configure",
            FunctionDescriptor.of(
                JAVA_INT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, JAVA_SHORT, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, ADDRESS));
    static final MethodHandle START = link("dp_port_start", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    static final MethodHandle STOP = link("dp_port_stop", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    static final MethodHandle CLOSE = link("dp_port_close", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));
    static final MethodHandle PROMISCUOUS =
        link("dp_port_promiscuous", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, JAVA_INT));
    static final MethodHandle MAC = link("dp_port_mac", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS));
    static final MethodHandle LINK = link("dp_port_link", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS));
    static final MethodHandle STATS = link("dp_port_stats", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, ADDRESS));
    static final MethodHandle STATS_RESET =
        link("dp_port_stats_reset", FunctionDescriptor.of(JAVA_INT, JAVA_SHORT));

    private Port() {}
  }

  /** The per-packet calls; the only ones that may be linked {@code critical}. */
  static final class Burst {
    private static final FunctionDescriptor BURST =
        FunctionDescriptor.of(JAVA_INT, JAVA_SHORT, JAVA_SHORT, ADDRESS, JAVA_SHORT);
    private static final FunctionDescriptor BULK = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);

    static final MethodHandle RX = link("dp_rx_burst", BURST);
    static final MethodHandle TX = link("dp_tx_burst", BURST);
    static final MethodHandle RX_CRITICAL = link("dp_rx_burst", BURST, Linker.Option.critical(false));
    static final MethodHandle TX_CRITICAL = link("dp_tx_burst", BURST, Linker.Option.critical(false));
    static final MethodHandle FREE_BULK = link("dp_mbuf_free_bulk", BULK);
    static final MethodHandle ALLOC_BULK =
        link("dp_mbuf_alloc_bulk", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle ABI_VERSION = intOf("dp_abi_version");
    static final MethodHandle ABI_VERSION_CRITICAL =
        link("dp_abi_version", FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false));

    private Burst() {}
  }

  /** dp_sizeof_* / dp_offsetof_*: called once, at layout check. */
  static int layout(String name) {
    try {
      return (int) intOf(name).invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("cannot read " + name + " from the shim", t);
    }
  }
}
