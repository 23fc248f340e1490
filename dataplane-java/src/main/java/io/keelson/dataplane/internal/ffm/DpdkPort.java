package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * One DPDK ethernet port: set-up calls, and burst RX/TX straight into and out of reusable native
 * arrays. TX frees whatever the device did not take, so a caller never leaks mbufs.
 *
 * <p>Threading: set-up and stats from any one thread; each RX/TX queue is used by one thread only,
 * which must be registered with DPDK ({@link Dpdk#registerThread()}).
 */
public final class DpdkPort {
  /**
   * Whether burst calls are linked with {@code Linker.Option.critical(false)} (no thread-state
   * transition). FfmDowncallBenchmark measures both; see the default's justification there.
   */
  public static final String CRITICAL_PROP = "keelson.dpdk.critical";

  private static final boolean CRITICAL = Boolean.parseBoolean(System.getProperty(CRITICAL_PROP, "false"));
  private static final MethodHandle RX = CRITICAL ? ShimCalls.Burst.RX_CRITICAL : ShimCalls.Burst.RX;
  private static final MethodHandle TX = CRITICAL ? ShimCalls.Burst.TX_CRITICAL : ShimCalls.Burst.TX;

  private final short id;

  private DpdkPort(int id) {
    this.id = (short) id;
  }

  /** The port with this DPDK port id. */
  public static DpdkPort of(int portId) {
    Dpdk.ensureAvailable();
    if (portId < 0 || portId >= count()) {
      throw new IllegalArgumentException("no DPDK port " + portId + " (there are " + count() + ")");
    }
    return new DpdkPort(portId);
  }

  /** The port of a device by its EAL name (e.g. "net_null0", "net_af_packet1"). */
  public static DpdkPort byName(String name) {
    Dpdk.ensureAvailable();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_SHORT);
      int rc = (int) ShimCalls.Port.BY_NAME.invokeExact(arena.allocateFrom(name), out);
      DpdkException.check("dp_port_by_name(" + name + ")", rc);
      return new DpdkPort(out.get(JAVA_SHORT, 0) & 0xFFFF);
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_by_name", t);
    }
  }

  /** Ports DPDK knows about. */
  public static int count() {
    try {
      return (int) ShimCalls.Port.COUNT.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_count", t);
    }
  }

  public int id() {
    return id & 0xFFFF;
  }

  public String name() {
    return text("dp_port_name", ShimCalls.Port.NAME);
  }

  /** The PMD's driver name (e.g. "net_null", "net_af_packet"). */
  public String driver() {
    return text("dp_port_driver", ShimCalls.Port.DRIVER);
  }

  /** RX and TX offload capabilities, as {@code {rx, tx}} bit sets. */
  public long[] offloadCapabilities() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment rx = arena.allocate(JAVA_LONG);
      MemorySegment tx = arena.allocate(JAVA_LONG);
      int rc = (int) ShimCalls.Port.OFFLOAD_CAPA.invokeExact(id, rx, tx);
      DpdkException.check("dp_port_offload_capa", rc);
      return new long[] {rx.get(JAVA_LONG, 0), tx.get(JAVA_LONG, 0)};
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_offload_capa", t);
    }
  }

  /** Configures queues and offloads and sets up every queue's ring from {@code pool}. */
  public void configure(PortSettings s, Mempool pool) {
    call(
        "dp_port_configure(port " + id() + ", " + s + ")",
        () -> (int) ShimCalls.Port.CONFIGURE.invokeExact(
            id, (short) s.rxQueues(), (short) s.txQueues(), (short) s.rxDescriptors(),
            (short) s.txDescriptors(), s.rxOffloads(), s.txOffloads(), s.rssHashFunctions(), pool.pool));
  }

  public void start() {
    call("dp_port_start(" + id() + ")", () -> (int) ShimCalls.Port.START.invokeExact(id));
  }

  public void stop() {
    call("dp_port_stop(" + id() + ")", () -> (int) ShimCalls.Port.STOP.invokeExact(id));
  }

  public void close() {
    call("dp_port_close(" + id() + ")", () -> (int) ShimCalls.Port.CLOSE.invokeExact(id));
  }

  public void promiscuous(boolean enable) {
    call("dp_port_promiscuous(" + id() + ")",
        () -> (int) ShimCalls.Port.PROMISCUOUS.invokeExact(id, enable ? 1 : 0));
  }

  /** The port's MAC address in the low 48 bits. */
  public long mac() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(6);
      int rc = (int) ShimCalls.Port.MAC.invokeExact(id, out);
      DpdkException.check("dp_port_mac(" + id() + ")", rc);
      long mac = 0;
      for (int i = 0; i < 6; i++) {
        mac = (mac << 8) | (out.get(JAVA_BYTE, i) & 0xFF);
      }
      return mac;
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_mac", t);
    }
  }

  public PortLink link() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(MbufLayout.SIZEOF_LINK);
      int rc = (int) ShimCalls.Port.LINK.invokeExact(id, out);
      DpdkException.check("dp_port_link(" + id() + ")", rc);
      return new PortLink(
          out.get(MbufLayout.U16, MbufLayout.LINK_UP) != 0,
          out.get(MbufLayout.U32, MbufLayout.LINK_SPEED),
          out.get(MbufLayout.U16, MbufLayout.LINK_FULL_DUPLEX) != 0);
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_link", t);
    }
  }

  public PortStats stats() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(MbufLayout.SIZEOF_STATS);
      int rc = (int) ShimCalls.Port.STATS.invokeExact(id, s);
      DpdkException.check("dp_port_stats(" + id() + ")", rc);
      return new PortStats(
          s.get(MbufLayout.U64, MbufLayout.STATS_IPACKETS),
          s.get(MbufLayout.U64, MbufLayout.STATS_OPACKETS),
          s.get(MbufLayout.U64, MbufLayout.STATS_IBYTES),
          s.get(MbufLayout.U64, MbufLayout.STATS_OBYTES),
          s.get(MbufLayout.U64, MbufLayout.STATS_IMISSED),
          s.get(MbufLayout.U64, MbufLayout.STATS_IERRORS),
          s.get(MbufLayout.U64, MbufLayout.STATS_OERRORS),
          s.get(MbufLayout.U64, MbufLayout.STATS_RX_NOMBUF));
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_port_stats", t);
    }
  }

  public void resetStats() {
    call("dp_port_stats_reset(" + id() + ")", () -> (int) ShimCalls.Port.STATS_RESET.invokeExact(id));
  }

  /** Receives up to the burst's capacity from {@code queue}; the burst's flyweights then point at the packets. */
  public int rxBurst(int queue, RxBurst burst) {
    int n;
    try {
      n = (int) RX.invokeExact(id, (short) queue, burst.mbufs, (short) burst.capacity());
    } catch (Throwable t) {
      throw new IllegalStateException("dp_rx_burst", t);
    }
    burst.received(n);
    return n;
  }

  /** Sends every packet of the burst (lengths written back first); frees the ones the device did not take. */
  public int txBurst(int queue, RxBurst burst) {
    int count = burst.count();
    if (count == 0) {
      return 0;
    }
    burst.syncLengths();
    int sent;
    try {
      sent = (int) TX.invokeExact(id, (short) queue, burst.mbufs, (short) count);
      if (sent < count) {
        int ignored = (int) ShimCalls.Burst.FREE_BULK.invokeExact(
            burst.mbufs.asSlice((long) sent * 8), count - sent);
      }
    } catch (Throwable t) {
      throw new IllegalStateException("dp_tx_burst", t);
    }
    burst.clear();
    return sent;
  }

  /** Sends the batch; frees what the device did not take; empties the batch. */
  public int txBurst(int queue, MbufBatch batch) {
    int count = batch.count();
    if (count == 0) {
      return 0;
    }
    int sent;
    try {
      sent = (int) TX.invokeExact(id, (short) queue, batch.mbufs, (short) count);
    } catch (Throwable t) {
      throw new IllegalStateException("dp_tx_burst", t);
    }
    batch.afterTransmit(sent);
    return sent;
  }

  @Override
  public String toString() {
    return "port " + id();
  }

  private String text(String call, MethodHandle handle) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(128);
      int rc = (int) handle.invokeExact(id, buf, 128);
      DpdkException.check(call + "(" + id() + ")", rc);
      return buf.getString(0);
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(call, t);
    }
  }

  @FunctionalInterface
  private interface IntCall {
    int call() throws Throwable;
  }

  private static void call(String what, IntCall c) {
    int rc;
    try {
      rc = c.call();
    } catch (Throwable t) {
      throw new IllegalStateException(what, t);
    }
    DpdkException.check(what, rc);
  }
}
