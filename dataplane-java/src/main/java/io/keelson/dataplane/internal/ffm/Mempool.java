package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A DPDK pool of packet mbufs ({@code rte_pktmbuf_pool_create}).
 *
 * <p>Threading: create and free from one thread; the pool itself is used by any registered lcore.
 */
public final class Mempool implements AutoCloseable {
  /** Let DPDK pick the NUMA socket. */
  public static final int SOCKET_ANY = -1;

  final MemorySegment pool;
  private final String name;

  private Mempool(String name, MemorySegment pool) {
    this.name = name;
    this.pool = pool;
  }

  /**
   * @param size     mbufs in the pool (2^n - 1 is the most memory-efficient)
   * @param cache    per-lcore cache size (0 = none; at most 512)
   * @param dataRoom bytes of data buffer per mbuf, headroom included (2048 + 128 is DPDK's default)
   */
  public static Mempool create(String name, int size, int cache, int dataRoom, int socket) {
    Dpdk.ensureAvailable();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      int rc =
          (int) ShimCalls.Mempool.CREATE.invokeExact(
              arena.allocateFrom(name), size, cache, (short) dataRoom, socket, out);
      DpdkException.check("dp_mempool_create(" + name + ", n=" + size + ", data_room=" + dataRoom + ")", rc);
      return new Mempool(name, out.get(ADDRESS, 0));
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mempool_create", t);
    }
  }

  public String name() {
    return name;
  }

  /** Mbufs currently free (in the pool and the lcore caches). */
  public int available() {
    try {
      return DpdkException.check("dp_mempool_avail", (int) ShimCalls.Mempool.AVAIL.invokeExact(pool));
    } catch (DpdkException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mempool_avail", t);
    }
  }

  /** Allocates up to {@code n} fresh mbufs into the batch (all or none); false when the pool is short. */
  public boolean allocate(MbufBatch batch, int n) {
    if (batch.count() + n > batch.capacity()) {
      throw new IllegalArgumentException("batch of " + batch.capacity() + " cannot take " + n + " more");
    }
    try {
      int rc =
          (int) ShimCalls.Burst.ALLOC_BULK.invokeExact(
              pool, batch.mbufs.asSlice((long) batch.count() * 8), n);
      if (rc < 0) {
        return false;
      }
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mbuf_alloc_bulk", t);
    }
    batch.appended(n);
    return true;
  }

  /** Frees the pool; every mbuf must be back in it. */
  @Override
  public void close() {
    try {
      int ignored = (int) ShimCalls.Mempool.FREE.invokeExact(pool);
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mempool_free", t);
    }
  }
}
