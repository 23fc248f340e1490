package io.keelson.dataplane.packet.conntrack;

import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.Arrays;

/**
 * Connection tracking for full-NAT: a fixed number of flows, each reachable by two keys, the
 * client's tuple ({@code client → VIP}) and the return tuple ({@code backend → SNAT}). Storage is
 * primitive arrays: a flow table indexed by flow id, and an open-addressing index (linear probing,
 * load ≤ 1/2, backward-shift deletion so no tombstones accumulate) from 5-tuple to
 * {@code flowId << 1 | direction}. Nothing is allocated after construction.
 *
 * <p><b>When full</b>, {@link #create} refuses the new flow (the caller drops and counts it) rather
 * than evicting: under a SYN flood the flows already established keep working, and the
 * transitory-state timeout (short) plus the incremental {@link #expire} sweep free slots from
 * half-open flows quickly.
 *
 * <p>Idle timeouts depend on the state ({@link #TCP_OPENING}, {@link #TCP_ESTABLISHED},
 * {@link #TCP_CLOSING}, {@link #UDP}); time is whatever the owner's clock says, in nanoseconds.
 *
 * <p>Threading: single writer, single reader (the forwarding stage that owns it); not thread-safe.
 */
public final class ConnTrack {
  public static final int FORWARD = 0;
  public static final int REVERSE = 1;

  public static final int FREE = 0;
  public static final int TCP_OPENING = 1;
  public static final int TCP_ESTABLISHED = 2;
  public static final int TCP_CLOSING = 3;
  public static final int UDP = 4;

  private static final long OCCUPIED = 1L << 48;

  // Index: 5-tuple -> flow id and direction, one slot = three adjacent longs {ports and protocol (0 =
  // empty), addresses, value}, so a probe touches one cache line, not one per array (three parallel
  // arrays made lookup half of the gateway's Java time on the pcap benchmark: every probe missed).
  private static final int STRIDE = 3;
  private final long[] index;
  private final int mask;

  // Flow cache in front of the index (an exact-match cache, as in Open vSwitch). The index spans 24 bytes
  // x 4 x capacity (24 MB at the default 262,144 flows), so every probe of it is a cache and TLB miss.
  // The cache holds only {@code value + 1} (0 = empty) of a key: the key itself is checked against the
  // flow's record, which the caller reads next anyway. So a cached lookup touches one line of a small int
  // array (16 slots a line) plus the record, where 24-byte {ports, addresses, value} slots made the cache
  // 384 KB and cost a line of their own per flow. Two-way set-associative (two adjacent ints per set, always
  // in one line): direct-mapped, about a fifth of the pcap benchmark's 3,840 flows shared a slot with
  // another active flow, evicted each other on every train and went to the index. Filled by lookups that
  // hit the index (the newest key in way 0, the previous one moved to way 1); a removed flow's keys are
  // cleared from it.
  static final int CACHE_SLOTS = 1 << 15;
  private final int[] cache;
  private final int cacheSetMask;

  // Flow table: one record of RECORD longs per flow (64 bytes: one or two cache lines), so a packet's
  // flow costs one or two misses instead of one per field array (it was eleven parallel arrays).
  private static final int RECORD = 8;
  private static final int R_ADDR_CLIENT_VIP = 0; // clientIp << 32 | vipIp
  private static final int R_ADDR_BACKEND_SNAT = 1; // backendIp << 32 | snatIp
  private static final int R_PORTS = 2; // (clientPort << 16 | vipPort) << 32 | (backendPort << 16 | snatPort)
  private static final int R_PROTOCOL = 3;
  private static final int R_LAST_SEEN = 4;
  private static final int R_ROUTE_FORWARD = 5;
  private static final int R_ROUTE_REVERSE = 6;
  private final int capacity;
  private final long[] records;
  /** Kept apart from the records: the idle sweep streams through it densely. */
  private final byte[] state;
  /** Bumped by every create and remove: a lookup done before is still valid while it is unchanged. */
  private int modifications;
  private final int[] freeList;
  private int freeCount;
  private int sweepCursor;
  /**
   * One past the highest flow id ever handed out (since the last {@link #clear}): every id at or above
   * it is free, so the idle sweep wraps here instead of at the capacity. The free list hands out low ids
   * first, so with a few thousand flows the sweep reads a few KB of state bytes over and over instead
   * of streaming the whole 256 KB array (at the default capacity) through the cache; profiling the pcap
   * benchmark put about 2% of the gateway thread's samples on those misses.
   */
  private int highWater;

  private final long[] timeoutByState = new long[5];

  /**
   * @param capacity flows at most (the index uses 4 × capacity slots: 24 bytes each)
   */
  public ConnTrack(int capacity, long tcpEstablishedNanos, long tcpOpeningNanos, long tcpClosingNanos, long udpNanos) {
    if (capacity <= 0 || capacity > (1 << 27)) {
      throw new IllegalArgumentException("conntrack capacity " + capacity + " outside 1..2^27 (the index is 12 longs per flow in one array)");
    }
    this.capacity = capacity;
    int indexSize = Integer.highestOneBit(capacity * 4 - 1) << 1;
    index = new long[indexSize * STRIDE];
    mask = indexSize - 1;
    int cacheSlots = Math.min(indexSize, CACHE_SLOTS); // indexSize >= 4: at least two sets of two
    cache = new int[cacheSlots];
    cacheSetMask = cacheSlots / 2 - 1;
    records = new long[capacity * RECORD];
    state = new byte[capacity];
    freeList = new int[capacity];
    for (int i = 0; i < capacity; i++) {
      freeList[i] = capacity - 1 - i; // low ids first: keeps the sweep's working set dense
    }
    freeCount = capacity;
    timeouts(tcpEstablishedNanos, tcpOpeningNanos, tcpClosingNanos, udpNanos);
  }

  /** Changes the idle timeouts (e.g. after a config change); applies to every flow from now on. */
  public void timeouts(long tcpEstablishedNanos, long tcpOpeningNanos, long tcpClosingNanos, long udpNanos) {
    timeoutByState[TCP_OPENING] = tcpOpeningNanos;
    timeoutByState[TCP_ESTABLISHED] = tcpEstablishedNanos;
    timeoutByState[TCP_CLOSING] = tcpClosingNanos;
    timeoutByState[UDP] = udpNanos;
  }

  /**
   * Finds the flow a packet belongs to.
   *
   * @return {@code flowId << 1 | direction} ({@link #FORWARD} for client → VIP, {@link #REVERSE}
   *     for backend → SNAT), or -1
   */
  public int lookup(int srcIp, int dstIp, int srcPort, int dstPort, int proto) {
    long addresses = addresses(srcIp, dstIp);
    long ports = ports(srcPort, dstPort, proto);
    long hash = hash(addresses, ports);
    int[] c = cache;
    int set = cacheSet(hash);
    int portPair = (srcPort << 16) | dstPort;
    int cached = c[set] - 1;
    if (cached >= 0 && matches(cached, addresses, portPair, proto)) {
      return cached;
    }
    cached = c[set + 1] - 1;
    if (cached >= 0 && matches(cached, addresses, portPair, proto)) {
      return cached;
    }
    long[] idx = index;
    int i = (int) hash & mask;
    while (true) {
      int at = i * STRIDE;
      long p = idx[at];
      if (p == 0) {
        return -1;
      }
      if (p == ports && idx[at + 1] == addresses) {
        long value = idx[at + 2];
        c[set + 1] = c[set];
        c[set] = (int) value + 1;
        return (int) value;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Tracks a new flow under both of its keys. The caller has checked that neither key is tracked
   * (the SNAT port allocator probes {@link #lookup} for the return tuple).
   *
   * @return the flow id, or -1 when the table is full
   */
  public int create(int client, int clientPort, int vip, int vipPort, int proto,
      int backend, int backendPort, int snat, int snatPort, int initialState, long now) {
    if (freeCount == 0) {
      return -1;
    }
    int flow = freeList[--freeCount];
    if (flow >= highWater) {
      highWater = flow + 1;
    }
    int r = flow * RECORD;
    records[r + R_ADDR_CLIENT_VIP] = addresses(client, vip);
    records[r + R_ADDR_BACKEND_SNAT] = addresses(backend, snat);
    records[r + R_PORTS] = ((long) ((clientPort << 16) | vipPort) << 32) | (((backendPort << 16) | snatPort) & 0xFFFF_FFFFL);
    records[r + R_PROTOCOL] = proto;
    records[r + R_LAST_SEEN] = now;
    records[r + R_ROUTE_FORWARD] = 0;
    records[r + R_ROUTE_REVERSE] = 0;
    state[flow] = (byte) initialState;
    modifications++;
    insert(addresses(client, vip), ports(clientPort, vipPort, proto), flow << 1 | FORWARD);
    insert(addresses(backend, snat), ports(backendPort, snatPort, proto), flow << 1 | REVERSE);
    return flow;
  }

  /** Forgets a flow now (both keys) and frees its slot. */
  public void remove(int flow) {
    int r = flow * RECORD;
    int proto = (int) records[r + R_PROTOCOL];
    long forward = ports(clientPort(flow), vipPort(flow), proto);
    long reverse = ports(backendPort(flow), snatPort(flow), proto);
    uncache(flow, records[r + R_ADDR_CLIENT_VIP], forward);
    uncache(flow, records[r + R_ADDR_BACKEND_SNAT], reverse);
    delete(records[r + R_ADDR_CLIENT_VIP], forward);
    delete(records[r + R_ADDR_BACKEND_SNAT], reverse);
    state[flow] = FREE;
    modifications++;
    freeList[freeCount++] = flow;
  }

  /** Slots {@link #expire} covers: the highest flow id ever handed out, plus one (ids above it are all free). */
  public int sweepRange() {
    return highWater;
  }

  /**
   * Expires idle flows, examining at most {@code maxSlots} flow slots from where the previous call
   * stopped (slots at or above the highest id ever used are skipped: they are all free), so the cost
   * per burst is bounded whatever the table size.
   *
   * @return flows expired
   */
  public int expire(long now, int maxSlots) {
    int expired = 0;
    int end = highWater;
    int cursor = sweepCursor < end ? sweepCursor : 0;
    for (int n = Math.min(maxSlots, end); n > 0; n--) {
      int s = state[cursor];
      if (s != FREE && now - records[cursor * RECORD + R_LAST_SEEN] > timeoutByState[s]) {
        remove(cursor);
        expired++;
      }
      if (++cursor == end) {
        cursor = 0;
      }
    }
    sweepCursor = cursor;
    return expired;
  }

  /** True when the flow has been idle longer than its state allows (the sweep may not have reached it). */
  public boolean isExpired(int flow, long now) {
    return now - records[flow * RECORD + R_LAST_SEEN] > timeoutByState[state[flow]];
  }

  /**
   * Reads both cache lines a flow's record may span (a {@code long[]}'s elements are 8-byte aligned, not
   * 64) and returns a value derived from them: a caller that looks a burst's flows up first and
   * consumes this value gets every record's cache misses in flight together, rather than one at a time
   * when each packet is rewritten.
   */
  public long warm(int flow) {
    int r = flow * RECORD;
    return records[r] ^ records[r + RECORD - 1];
  }

  public void touch(int flow, long now) {
    records[flow * RECORD + R_LAST_SEEN] = now;
  }

  public void state(int flow, int newState) {
    state[flow] = (byte) newState;
  }

  public int state(int flow) {
    return state[flow];
  }

  public int clientIp(int flow) {
    return (int) (records[flow * RECORD + R_ADDR_CLIENT_VIP] >>> 32);
  }

  public int clientPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 48);
  }

  public int vipIp(int flow) {
    return (int) records[flow * RECORD + R_ADDR_CLIENT_VIP];
  }

  public int vipPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 32) & 0xFFFF;
  }

  public int backendIp(int flow) {
    return (int) (records[flow * RECORD + R_ADDR_BACKEND_SNAT] >>> 32);
  }

  public int backendPort(int flow) {
    return (int) (records[flow * RECORD + R_PORTS] >>> 16) & 0xFFFF;
  }

  public int snatIp(int flow) {
    return (int) records[flow * RECORD + R_ADDR_BACKEND_SNAT];
  }

  public int snatPort(int flow) {
    return (int) records[flow * RECORD + R_PORTS] & 0xFFFF;
  }

  public long lastSeen(int flow) {
    return records[flow * RECORD + R_LAST_SEEN];
  }

  public void routes(int flow, long forward, long reverse) {
    records[flow * RECORD + R_ROUTE_FORWARD] = forward;
    records[flow * RECORD + R_ROUTE_REVERSE] = reverse;
  }

  public long routeForward(int flow) {
    return records[flow * RECORD + R_ROUTE_FORWARD];
  }

  public long routeReverse(int flow) {
    return records[flow * RECORD + R_ROUTE_REVERSE];
  }

  public int size() {
    return capacity - freeCount;
  }

  public int capacity() {
    return capacity;
  }

  /** Drops every flow (e.g. tests, or an operator's flush). */
  public void clear() {
    Arrays.fill(index, 0);
    Arrays.fill(cache, 0);
    Arrays.fill(state, (byte) FREE);
    for (int i = 0; i < capacity; i++) {
      freeList[i] = capacity - 1 - i;
    }
    freeCount = capacity;
    sweepCursor = 0;
    highWater = 0;
    modifications++;
  }

  /**
   * Changes whenever a flow is created or removed: a {@link #lookup} result taken earlier is still
   * the answer while this value is the same (lets a caller look a whole burst up first).
   */
  public int modifications() {
    return modifications;
  }

  private static long addresses(int src, int dst) {
    return ((long) src << 32) | (dst & 0xFFFFFFFFL);
  }

  private static long ports(int srcPort, int dstPort, int proto) {
    return OCCUPIED | ((long) srcPort << 24) | ((long) dstPort << 8) | proto;
  }

  private static long hash(long addresses, long ports) {
    return MaglevTable.mix(addresses * 0x9E37_79B9_7F4A_7C15L + ports);
  }

  private int home(long addresses, long ports) {
    return (int) hash(addresses, ports) & mask;
  }

  /** The flow cache set (two adjacent slots) for a key's hash (high bits: the index uses the low ones). */
  private int cacheSet(long hash) {
    return ((int) (hash >>> 40) & cacheSetMask) << 1;
  }

  /**
   * Whether flow {@code value >> 1}'s record holds this key in direction {@code value & 1}: its
   * addresses (word 0 client/VIP, word 1 backend/SNAT), its port pair (high half of R_PORTS forward,
   * low half reverse) and protocol.
   */
  private boolean matches(int value, long addresses, int portPair, int proto) {
    int direction = value & 1;
    int r = (value >>> 1) * RECORD;
    long[] rec = records;
    return rec[r + direction] == addresses
        && (int) (rec[r + R_PORTS] >>> ((direction ^ 1) << 5)) == portPair
        && rec[r + R_PROTOCOL] == proto;
  }

  /** Clears the flow cache slots of {@code flow} in the set of one of its keys. */
  private void uncache(int flow, long addresses, long ports) {
    int set = cacheSet(hash(addresses, ports));
    for (int w = set; w <= set + 1; w++) {
      if (cache[w] != 0 && (cache[w] - 1) >>> 1 == flow) {
        cache[w] = 0;
      }
    }
  }

  private void insert(long addresses, long ports, int value) {
    int i = home(addresses, ports);
    while (index[i * STRIDE] != 0) {
      i = (i + 1) & mask;
    }
    index[i * STRIDE] = ports;
    index[i * STRIDE + 1] = addresses;
    index[i * STRIDE + 2] = value;
  }

  private void delete(long addresses, long ports) {
    int i = home(addresses, ports);
    while (true) {
      long p = index[i * STRIDE];
      if (p == 0) {
        return;
      }
      if (p == ports && index[i * STRIDE + 1] == addresses) {
        break;
      }
      i = (i + 1) & mask;
    }
    // Backward-shift: pull later entries of the same probe run into the hole so lookups that
    // stop at the first empty slot still find them.
    int hole = i;
    int j = i;
    while (true) {
      j = (j + 1) & mask;
      if (index[j * STRIDE] == 0) {
        break;
      }
      int h = home(index[j * STRIDE + 1], index[j * STRIDE]);
      boolean movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
      if (movable) {
        System.arraycopy(index, j * STRIDE, index, hole * STRIDE, STRIDE);
        hole = j;
      }
    }
    index[hole * STRIDE] = 0;
  }
}
