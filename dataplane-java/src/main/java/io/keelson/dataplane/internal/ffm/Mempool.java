package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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
  private final long memoryStart;
  private final long memoryEnd;

  private Mempool(String name, MemorySegment pool, long memoryStart, long memoryEnd) {
    this.name = name;
    this.pool = pool;
    this.memoryStart = memoryStart;
    this.memoryEnd = memoryEnd;
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
      MemorySegment pool = out.get(ADDRESS, 0);
      MemorySegment span = arena.allocate(JAVA_LONG, 2);
      int ranged = (int) ShimCalls.Mempool.RANGE.invokeExact(pool, span, span.asSlice(8));
      Mempool created = new Mempool(name, pool, span.get(JAVA_LONG, 0), span.get(JAVA_LONG, 8));
      try {
        DpdkException.check("dp_mempool_range(" + name + ")", ranged);
        requireReachable(name, created.memoryStart, created.memoryEnd);
      } catch (RuntimeException e) {
        created.close();
        throw e;
      }
      return created;
    } catch (DpdkException | IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("dp_mempool_create", t);
    }
  }

  public String name() {
    return name;
  }

  /** The lowest address of the pool's memory (its mbufs and their data rooms). */
  public long memoryStart() {
    return memoryStart;
  }

  /** One past the highest address of the pool's memory. */
  public long memoryEnd() {
    return memoryEnd;
  }

  /**
   * Refuses a pool whose memory {@code [start, end)} reaches {@link PacketBuffer#ADDRESS_LIMIT}: the packet path
   * masks mbuf and packet addresses to 48 bits ({@link PacketBuffer}, {@link MbufLayout}), so it would read and
   * write such a pool's mbufs at the wrong address.
   */
  static void requireReachable(String name, long start, long end) {
    if (Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalStateException(
          "mempool " + name + " reports an empty memory range " + hex(start) + "-" + hex(end));
    }
    if (Long.compareUnsigned(end, PacketBuffer.ADDRESS_LIMIT) > 0) {
      throw new IllegalStateException(
          "mempool " + name + " has memory at " + hex(start) + "-" + hex(end) + ", at or above 2^48 ("
              + hex(PacketBuffer.ADDRESS_LIMIT) + "), which the gateway's packet path cannot address (it masks"
              + " mbuf and packet addresses to 48 bits); on a kernel with 5-level paging (LA57), keep DPDK's memory below"
              + " it: drop a high --base-virtaddr from the EAL arguments (DPDK's default, 0x100000000, is below)");
    }
  }

  private static String hex(long address) {
    return "0x" + Long.toHexString(address);
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
