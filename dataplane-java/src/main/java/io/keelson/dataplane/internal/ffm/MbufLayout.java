package io.keelson.dataplane.internal.ffm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where the fields Java reads in place live, in DPDK's {@code struct rte_mbuf} and in the shim's
 * {@code struct dp_port_stats} / {@code struct dp_port_link}. Every offset comes from the shim
 * ({@code dp_offsetof_*}), never from Java constants, and is checked once: each field must fit inside
 * its struct and not overlap the others, or DPDK is reported unavailable.
 *
 * <pre>
 * rte_mbuf (22.11, 128 bytes; only the fields Keelson touches)
 *   buf_addr  void*    start of the data buffer
 *   data_off  uint16   packet start = buf_addr + data_off
 *   nb_segs   uint16   Keelson handles single-segment packets only
 *   port      uint16   input port
 *   ol_flags  uint64
 *   packet_type uint32
 *   pkt_len   uint32   total length (all segments)
 *   data_len  uint16   this segment's length
 *   rss_hash  uint32
 *   buf_len   uint16   data buffer size
 *   next      rte_mbuf* next segment
 * </pre>
 *
 * <p>Threading: immutable constants.
 */
final class MbufLayout {
  /** All of native memory: mbufs are addressed absolutely through this one segment, so re-pointing a
   * flyweight at a packet allocates nothing. Only this package reads through it. */
  static final MemorySegment ALL = AllMemory.SEGMENT;

  static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
  static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
  static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;

  static final long SIZEOF_MBUF = ShimCalls.layout("dp_sizeof_mbuf");
  static final long BUF_ADDR = field("mbuf", "buf_addr", 8, SIZEOF_MBUF);
  static final long DATA_OFF = field("mbuf", "data_off", 2, SIZEOF_MBUF);
  static final long DATA_LEN = field("mbuf", "data_len", 2, SIZEOF_MBUF);
  static final long PKT_LEN = field("mbuf", "pkt_len", 4, SIZEOF_MBUF);
  static final long BUF_LEN = field("mbuf", "buf_len", 2, SIZEOF_MBUF);
  static final long NB_SEGS = field("mbuf", "nb_segs", 2, SIZEOF_MBUF);
  static final long PORT = field("mbuf", "port", 2, SIZEOF_MBUF);
  static final long OL_FLAGS = field("mbuf", "ol_flags", 8, SIZEOF_MBUF);
  static final long PACKET_TYPE = field("mbuf", "packet_type", 4, SIZEOF_MBUF);
  static final long RSS_HASH = field("mbuf", "rss_hash", 4, SIZEOF_MBUF);
  static final long NEXT = field("mbuf", "next", 8, SIZEOF_MBUF);

  static final long SIZEOF_STATS = ShimCalls.layout("dp_sizeof_port_stats");
  static final long STATS_IPACKETS = field("port_stats", "ipackets", 8, SIZEOF_STATS);
  static final long STATS_OPACKETS = field("port_stats", "opackets", 8, SIZEOF_STATS);
  static final long STATS_IBYTES = field("port_stats", "ibytes", 8, SIZEOF_STATS);
  static final long STATS_OBYTES = field("port_stats", "obytes", 8, SIZEOF_STATS);
  static final long STATS_IMISSED = field("port_stats", "imissed", 8, SIZEOF_STATS);
  static final long STATS_IERRORS = field("port_stats", "ierrors", 8, SIZEOF_STATS);
  static final long STATS_OERRORS = field("port_stats", "oerrors", 8, SIZEOF_STATS);
  static final long STATS_RX_NOMBUF = field("port_stats", "rx_nombuf", 8, SIZEOF_STATS);

  static final long SIZEOF_LINK = ShimCalls.layout("dp_sizeof_port_link");
  static final long LINK_SPEED = field("port_link", "speed_mbps", 4, SIZEOF_LINK);
  static final long LINK_UP = field("port_link", "up", 2, SIZEOF_LINK);
  static final long LINK_FULL_DUPLEX = field("port_link", "full_duplex", 2, SIZEOF_LINK);

  static {
    checkDisjoint("mbuf", new long[][] {
      {BUF_ADDR, 8}, {DATA_OFF, 2}, {DATA_LEN, 2}, {PKT_LEN, 4}, {BUF_LEN, 2}, {NB_SEGS, 2},
      {PORT, 2}, {OL_FLAGS, 8}, {PACKET_TYPE, 4}, {RSS_HASH, 4}, {NEXT, 8}
    });
    checkDisjoint("port_stats", new long[][] {
      {STATS_IPACKETS, 8}, {STATS_OPACKETS, 8}, {STATS_IBYTES, 8}, {STATS_OBYTES, 8},
      {STATS_IMISSED, 8}, {STATS_IERRORS, 8}, {STATS_OERRORS, 8}, {STATS_RX_NOMBUF, 8}
    });
    checkDisjoint("port_link", new long[][] {{LINK_SPEED, 4}, {LINK_UP, 2}, {LINK_FULL_DUPLEX, 2}});
  }

  private MbufLayout() {}

  private static long field(String struct, String name, int size, long structSize) {
    long offset = ShimCalls.layout("dp_offsetof_" + struct + "_" + name);
    if (offset < 0 || offset + size > structSize) {
      throw new IllegalStateException(
          "struct layout mismatch: " + struct + "." + name + " at offset " + offset + " (" + size
              + " bytes) does not fit in sizeof(" + struct + ") = " + structSize);
    }
    return offset;
  }

  private static void checkDisjoint(String struct, long[][] fields) {
    for (int i = 0; i < fields.length; i++) {
      for (int j = i + 1; j < fields.length; j++) {
        long a = fields[i][0], al = fields[i][1], b = fields[j][0], bl = fields[j][1];
        if (a < b + bl && b < a + al) {
          throw new IllegalStateException(
              "struct layout mismatch: two fields of " + struct + " overlap at offsets " + a + " and " + b);
        }
      }
    }
  }

  /**
   * The per-packet accessors below read an mbuf at {@code (mbuf & ADDRESS_MASK) + field}, as {@link PacketBuffer}
   * reads its packet: every mbuf lies in a pool that {@link Mempool#create} checked to be below 2^48, so the mask
   * changes nothing, and the JIT can prove the access inside {@link #ALL}, which drops its bounds check (an add, a
   * compare and a branch per field read: five per received packet). Written out in each accessor, not in a helper,
   * for the reason {@link PacketBuffer} gives.
   */
  private static final long ADDRESS_MASK = PacketBuffer.ADDRESS_LIMIT - 1;

  /** Address of the first packet byte of a single-segment mbuf. */
  static long dataAddress(long mbuf) {
    long m = mbuf & ADDRESS_MASK;
    return ALL.get(U64, m + BUF_ADDR) + (ALL.get(U16, m + DATA_OFF) & 0xFFFF);
  }

  static int dataLength(long mbuf) {
    return ALL.get(U16, (mbuf & ADDRESS_MASK) + DATA_LEN) & 0xFFFF;
  }

  /** Bytes from the packet start to the end of the buffer: how far a rewrite may grow it. */
  static int capacity(long mbuf) {
    long m = mbuf & ADDRESS_MASK;
    return (ALL.get(U16, m + BUF_LEN) & 0xFFFF) - (ALL.get(U16, m + DATA_OFF) & 0xFFFF);
  }

  /** Writes a single-segment packet's length back after a rewrite. */
  static void setLength(long mbuf, int length) {
    long m = mbuf & ADDRESS_MASK;
    ALL.set(U16, m + DATA_LEN, (short) length);
    ALL.set(U32, m + PKT_LEN, length);
  }
}
