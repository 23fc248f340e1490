package io.keelson.dataplane.packet.conntrack;

import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * Connection tracking for IPv6 full-NAT (NAT66), kept apart from the IPv4 {@link ConnTrack} so that
 * table's layout and hot path do not change. Same model: a fixed number of flows, each reachable by the
 * client's tuple ({@code client → VIP}, {@link ConnTrack#FORWARD}) and the return tuple ({@code backend →
 * SNAT}, {@link ConnTrack#REVERSE}); the same states ({@link ConnTrack#TCP_OPENING} ...) and idle
 * timeouts; refused, not evicted, when full.
 *
 * <p>Storage: one record of {@link #RECORD} longs per flow (addresses as high and low halves), and an
 * open-addressing index of ints ({@code flowId << 1 | direction}, plus one; 0 = empty) with linear probing,
 * load ≤ 1/2 and backward-shift deletion. The index holds no keys: a probe compares the tuple with the
 * flow's record, which the caller reads next anyway. Nothing is allocated after construction.
 *
 * <p>Threading: single writer and reader (the forwarding stage that owns it); not thread-safe.
 */
public final class ConnTrack6 {
  private static final int RECORD = 12;
  private static final int R_CLIENT = 0; // hi, lo
  private static final int R_VIP = 2;
  private static final int R_BACKEND = 4;
  private static final int R_SNAT = 6;
  private static final int R_PORTS = 8; // clientPort << 48 | vipPort << 32 | backendPort << 16 | snatPort
  private static final int R_PROTOCOL = 9;
  private static final int R_LAST_SEEN = 10;
  private static final int R_ROUTES = 11; // forward out port << 32 | reverse out port

  private final int capacity;
  private final long[] records;
  private final byte[] state;
  private final int[] index;
  private final int mask;
  private final int[] freeList;
  private int freeCount;
  private int sweepCursor;
  private long tcpEstablished;
  private long tcpOpening;
  private long tcpClosing;
  private long udp;

  public ConnTrack6(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("IPv6 conntrack capacity " + capacity + " must be positive");
    }
    this.capacity = capacity;
    records = new long[capacity * RECORD];
    state = new byte[capacity];
    int slots = Integer.highestOneBit(capacity * 4 - 1) << 1;
    index = new int[slots];
    mask = slots - 1;
    freeList = new int[capacity];
    for (int i = 0; i < capacity; i++) {
      freeList[i] = capacity - 1 - i; // low ids first
    }
    freeCount = capacity;
  }

  public void timeouts(long tcpEstablishedNanos, long tcpOpeningNanos, long tcpClosingNanos, long udpNanos) {
    tcpEstablished = tcpEstablishedNanos;
    tcpOpening = tcpOpeningNanos;
    tcpClosing = tcpClosingNanos;
    udp = udpNanos;
  }

  /** {@code flowId << 1 | direction} of the flow this tuple belongs to, or -1. */
  public int lookup(long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort, int protocol) {
    int ports = srcPort << 16 | dstPort;
    for (int i = home(srcHi, srcLo, dstHi, dstLo, ports, protocol); ; i = (i + 1) & mask) {
      int v = index[i] - 1;
      if (v < 0) {
        return -1;
      }
      if (keyMatches(v, srcHi, srcLo, dstHi, dstLo, ports, protocol)) {
        return v;
      }
    }
  }

  /**
   * Tracks a new flow; its id, or -1 when the table is full. The caller has checked that neither tuple is
   * tracked already (the client tuple by lookup, the return tuple by choosing a free SNAT port).
   */
  public int create(long clientHi, long clientLo, int clientPort, long vipHi, long vipLo, int vipPort,
      long backendHi, long backendLo, int backendPort, long snatHi, long snatLo, int snatPort, int protocol,
      int initialState, long now, int forwardPort, int reversePort) {
    if (freeCount == 0) {
      return -1;
    }
    int flow = freeList[--freeCount];
    int r = flow * RECORD;
    records[r + R_CLIENT] = clientHi;
    records[r + R_CLIENT + 1] = clientLo;
    records[r + R_VIP] = vipHi;
    records[r + R_VIP + 1] = vipLo;
    records[r + R_BACKEND] = backendHi;
    records[r + R_BACKEND + 1] = backendLo;
    records[r + R_SNAT] = snatHi;
    records[r + R_SNAT + 1] = snatLo;
    records[r + R_PORTS] = (long) clientPort << 48 | (long) vipPort << 32 | (long) backendPort << 16 | snatPort;
    records[r + R_PROTOCOL] = protocol;
    records[r + R_LAST_SEEN] = now;
    records[r + R_ROUTES] = (long) forwardPort << 32 | reversePort;
    state[flow] = (byte) initialState;
    insert(flow << 1 | ConnTrack.FORWARD);
    insert(flow << 1 | ConnTrack.REVERSE);
    return flow;
  }

  public void remove(int flow) {
    delete(flow << 1 | ConnTrack.FORWARD);
    delete(flow << 1 | ConnTrack.REVERSE);
    state[flow] = ConnTrack.FREE;
    freeList[freeCount++] = flow;
  }

  /** Examines up to {@code maxSlots} flow slots from where the last call stopped; removes idle ones. Returns how many. */
  public int expire(long now, int maxSlots) {
    int removed = 0;
    for (int k = 0; k < maxSlots && k < capacity; k++) {
      int flow = sweepCursor;
      sweepCursor = sweepCursor + 1 == capacity ? 0 : sweepCursor + 1;
      if (state[flow] != ConnTrack.FREE && isExpired(flow, now)) {
        remove(flow);
        removed++;
      }
    }
    return removed;
  }

  public boolean isExpired(int flow, long now) {
    long timeout = switch (state[flow]) {
      case ConnTrack.TCP_OPENING -> tcpOpening;
      case ConnTrack.TCP_ESTABLISHED -> tcpEstablished;
      case ConnTrack.TCP_CLOSING -> tcpClosing;
      default -> udp;
    };
    return now - records[flow * RECORD + R_LAST_SEEN] > timeout;
  }

  public void touch(int flow, long now) {
    records[flow * RECORD + R_LAST_SEEN] = now;
  }

  public int state(int flow) {
    return state[flow];
  }

  public void state(int flow, int newState) {
    state[flow] = (byte) newState;
  }

  public long clientHi(int flow) {
    return records[flow * RECORD + R_CLIENT];
  }

  public long clientLo(int flow) {
    return records[flow * RECORD + R_CLIENT + 1];
  }

  public long vipHi(int flow) {
    return records[flow * RECORD + R_VIP];
  }

  public long vipLo(int flow) {
    return records[flow * RECORD + R_VIP + 1];
  }

  public long backendHi(int flow) {
    return records[flow * RECORD + R_BACKEND];
  }

  public long backendLo(int flow) {
    return records[flow * RECORD + R_BACKEND + 1];
  }

  public long snatHi(int flow) {
    return records[flow * RECORD + R_SNAT];
  }

  public long snatLo(int flow) {
    return records[flow * RECORD + R_SNAT + 1];
  }

  public int clientPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 48);
  }

  public int vipPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 32) & 0xFFFF;
  }

  public int backendPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 16) & 0xFFFF;
  }

  public int snatPort(int flow) {
    return (int) records[flow * RECORD + R_PORTS] & 0xFFFF;
  }

  public int forwardPort(int flow) {
    return (int) (records[flow * RECORD + R_ROUTES] >>> 32);
  }

  public int reversePort(int flow) {
    return (int) records[flow * RECORD + R_ROUTES];
  }

  public int size() {
    return capacity - freeCount;
  }

  public int capacity() {
    return capacity;
  }

  private boolean keyMatches(int value, long srcHi, long srcLo, long dstHi, long dstLo, int ports, int protocol) {
    int r = (value >> 1) * RECORD;
    if (records[r + R_PROTOCOL] != protocol) {
      return false;
    }
    long p = records[r + R_PORTS];
    if ((value & 1) == ConnTrack.FORWARD) {
      return (int) (p >>> 32) == ports && records[r + R_CLIENT + 1] == srcLo && records[r + R_VIP + 1] == dstLo
          && records[r + R_CLIENT] == srcHi && records[r + R_VIP] == dstHi;
    }
    return (int) p == ports && records[r + R_BACKEND + 1] == srcLo && records[r + R_SNAT + 1] == dstLo
        && records[r + R_BACKEND] == srcHi && records[r + R_SNAT] == dstHi;
  }

  /** The home slot of the tuple {@code value} is indexed under. */
  private int homeOf(int value) {
    int r = (value >> 1) * RECORD;
    long p = records[r + R_PORTS];
    int protocol = (int) records[r + R_PROTOCOL];
    if ((value & 1) == ConnTrack.FORWARD) {
      return home(records[r + R_CLIENT], records[r + R_CLIENT + 1], records[r + R_VIP], records[r + R_VIP + 1],
          (int) (p >>> 32), protocol);
    }
    return home(records[r + R_BACKEND], records[r + R_BACKEND + 1], records[r + R_SNAT], records[r + R_SNAT + 1],
        (int) p, protocol);
  }

  private int home(long srcHi, long srcLo, long dstHi, long dstLo, int ports, int protocol) {
    return (int) MaglevTable.hash5(srcHi, srcLo, dstHi, dstLo, ports >>> 16, ports & 0xFFFF, protocol) & mask;
  }

  private void insert(int value) {
    int i = homeOf(value);
    while (index[i] != 0) {
      i = (i + 1) & mask;
    }
    index[i] = value + 1;
  }

  /** Backward-shift deletion: entries after the hole move up if their home allows it, so no tombstones. */
  private void delete(int value) {
    int i = homeOf(value);
    while (index[i] != value + 1) {
      i = (i + 1) & mask;
    }
    int hole = i;
    for (int j = (hole + 1) & mask; index[j] != 0; j = (j + 1) & mask) {
      int home = homeOf(index[j] - 1);
      // The entry at j may fill the hole when its home is not in (hole, j] (cyclically).
      boolean between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        index[hole] = index[j];
        hole = j;
      }
    }
    index[hole] = 0;
  }
}
