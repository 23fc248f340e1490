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

  // Flow table.
  private final int capacity;
  private final int[] clientIp;
  private final int[] vipIp;
  private final int[] backendIp;
  private final int[] snatIp;
  /** clientPort << 16 | vipPort. */
  private final int[] clientVipPorts;
  /** backendPort << 16 | snatPort. */
  private final int[] backendSnatPorts;
  private final byte[] protocol;
  private final byte[] state;
  private final long[] lastSeen;
  /** Opaque per-direction routing data the owner stores with the flow (port and next hop). */
  private final long[] routeForward;
  private final long[] routeReverse;
  private final int[] freeList;
  private int freeCount;
  private int sweepCursor;

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
    clientIp = new int[capacity];
    vipIp = new int[capacity];
    backendIp = new int[capacity];
    snatIp = new int[capacity];
    clientVipPorts = new int[capacity];
    backendSnatPorts = new int[capacity];
    protocol = new byte[capacity];
    state = new byte[capacity];
    lastSeen = new long[capacity];
    routeForward = new long[capacity];
    routeReverse = new long[capacity];
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
    long[] idx = index;
    int i = home(addresses, ports);
    while (true) {
      int at = i * STRIDE;
      long p = idx[at];
      if (p == 0) {
        return -1;
      }
      if (p == ports && idx[at + 1] == addresses) {
        return (int) idx[at + 2];
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
    clientIp[flow] = client;
    vipIp[flow] = vip;
    backendIp[flow] = backend;
    snatIp[flow] = snat;
    clientVipPorts[flow] = (clientPort << 16) | vipPort;
    backendSnatPorts[flow] = (backendPort << 16) | snatPort;
    protocol[flow] = (byte) proto;
    state[flow] = (byte) initialState;
    lastSeen[flow] = now;
    insert(addresses(client, vip), ports(clientPort, vipPort, proto), flow << 1 | FORWARD);
    insert(addresses(backend, snat), ports(backendPort, snatPort, proto), flow << 1 | REVERSE);
    return flow;
  }

  /** Forgets a flow now (both keys) and frees its slot. */
  public void remove(int flow) {
    int proto = protocol[flow] & 0xFF;
    delete(addresses(clientIp[flow], vipIp[flow]), ports(clientVipPorts[flow] >>> 16, clientVipPorts[flow] & 0xFFFF, proto));
    delete(addresses(backendIp[flow], snatIp[flow]), ports(backendSnatPorts[flow] >>> 16, backendSnatPorts[flow] & 0xFFFF, proto));
    state[flow] = FREE;
    freeList[freeCount++] = flow;
  }

  /**
   * Expires idle flows, examining at most {@code maxSlots} flow slots from where the previous call
   * stopped, so the cost per burst is bounded whatever the table size.
   *
   * @return flows expired
   */
  public int expire(long now, int maxSlots) {
    int expired = 0;
    int cursor = sweepCursor;
    for (int n = Math.min(maxSlots, capacity); n > 0; n--) {
      int s = state[cursor];
      if (s != FREE && now - lastSeen[cursor] > timeoutByState[s]) {
        remove(cursor);
        expired++;
      }
      if (++cursor == capacity) {
        cursor = 0;
      }
    }
    sweepCursor = cursor;
    return expired;
  }

  /** True when the flow has been idle longer than its state allows (the sweep may not have reached it). */
  public boolean isExpired(int flow, long now) {
    return now - lastSeen[flow] > timeoutByState[state[flow]];
  }

  public void touch(int flow, long now) {
    lastSeen[flow] = now;
  }

  public void state(int flow, int newState) {
    state[flow] = (byte) newState;
  }

  public int state(int flow) {
    return state[flow];
  }

  public int clientIp(int flow) {
    return clientIp[flow];
  }

  public int clientPort(int flow) {
    return clientVipPorts[flow] >>> 16;
  }

  public int vipIp(int flow) {
    return vipIp[flow];
  }

  public int vipPort(int flow) {
    return clientVipPorts[flow] & 0xFFFF;
  }

  public int backendIp(int flow) {
    return backendIp[flow];
  }

  public int backendPort(int flow) {
    return backendSnatPorts[flow] >>> 16;
  }

  public int snatIp(int flow) {
    return snatIp[flow];
  }

  public int snatPort(int flow) {
    return backendSnatPorts[flow] & 0xFFFF;
  }

  public long lastSeen(int flow) {
    return lastSeen[flow];
  }

  public void routes(int flow, long forward, long reverse) {
    routeForward[flow] = forward;
    routeReverse[flow] = reverse;
  }

  public long routeForward(int flow) {
    return routeForward[flow];
  }

  public long routeReverse(int flow) {
    return routeReverse[flow];
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
    Arrays.fill(state, (byte) FREE);
    for (int i = 0; i < capacity; i++) {
      freeList[i] = capacity - 1 - i;
    }
    freeCount = capacity;
    sweepCursor = 0;
  }

  private static long addresses(int src, int dst) {
    return ((long) src << 32) | (dst & 0xFFFFFFFFL);
  }

  private static long ports(int srcPort, int dstPort, int proto) {
    return OCCUPIED | ((long) srcPort << 24) | ((long) dstPort << 8) | proto;
  }

  private int home(long addresses, long ports) {
    return (int) MaglevTable.mix(addresses * 0x9E37_79B9_7F4A_7C15L + ports) & mask;
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
