package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * IPv6 next hop → MAC resolutions (the Neighbor Cache of RFC 4861), bounded like {@link ArpTable}: open
 * addressing over a window of {@link ArpTable#PROBES} slots per address, the stalest entry replaced when
 * the window is full. MAC 0 marks an address being resolved; its stamp is the time of the last
 * solicitation, which rate-limits them. An entry older than the reachable time is re-confirmed with a
 * solicitation (at most one per retry interval) while it stays in use.
 *
 * <p>Threading: single writer and reader (the forwarding stage's {@link Ipv6Forwarder}).
 */
final class NeighbourTable6 {
  private final long[] his;
  private final long[] los;
  private final boolean[] used;
  private final long[] macs;
  private final long[] stamps;
  private final long[] refreshed;
  private final int mask;

  NeighbourTable6(int capacity) {
    int size = Integer.highestOneBit(Math.max(ArpTable.PROBES, capacity) - 1) << 1;
    his = new long[size];
    los = new long[size];
    used = new boolean[size];
    macs = new long[size];
    stamps = new long[size];
    refreshed = new long[size];
    mask = size - 1;
  }

  /** The slot of the address (resolved or being resolved), or -1. */
  int find(long hi, long lo) {
    int i = home(hi, lo);
    for (int k = 0; k < ArpTable.PROBES; k++, i = (i + 1) & mask) {
      if (!used[i]) {
        return -1;
      }
      if (los[i] == lo && his[i] == hi) {
        return i;
      }
    }
    return -1;
  }

  /** The MAC in a slot from {@link #find}, or -1 while it is being resolved. */
  long macAt(int slot) {
    long mac = macs[slot];
    return mac == 0 ? -1 : mac;
  }

  void learn(long hi, long lo, long mac, long now) {
    if (mac == 0 || Ethernet.isGroup(mac)) {
      return;
    }
    int slot = slotFor(hi, lo);
    macs[slot] = mac;
    stamps[slot] = now;
    refreshed[slot] = now;
  }

  /** True when a solicitation for an unresolved address should go out now (none in the last {@code retryNanos}); records it. */
  boolean shouldSolicit(long hi, long lo, long now, long retryNanos) {
    int slot = find(hi, lo);
    if (slot >= 0 && (macs[slot] != 0 || now - stamps[slot] < retryNanos)) {
      return false;
    }
    if (slot < 0) {
      slot = slotFor(hi, lo);
      macs[slot] = 0;
    }
    stamps[slot] = now;
    return true;
  }

  /** True when a resolved entry is older than {@code reachableNanos} and no re-confirmation went out in {@code retryNanos}; records it. */
  boolean shouldRefreshAt(int slot, long now, long reachableNanos, long retryNanos) {
    if (macs[slot] == 0 || now - stamps[slot] <= reachableNanos || now - refreshed[slot] < retryNanos) {
      return false;
    }
    refreshed[slot] = now;
    return true;
  }

  private int slotFor(long hi, long lo) {
    int i = home(hi, lo);
    int stalest = i;
    for (int k = 0; k < ArpTable.PROBES; k++, i = (i + 1) & mask) {
      if (!used[i]) {
        used[i] = true;
        his[i] = hi;
        los[i] = lo;
        return i;
      }
      if (los[i] == lo && his[i] == hi) {
        return i;
      }
      if (stamps[i] < stamps[stalest]) {
        stalest = i;
      }
    }
    his[stalest] = hi;
    los[stalest] = lo;
    return stalest;
  }

  private int home(long hi, long lo) {
    return (int) MaglevTable.mix(hi ^ Long.rotateLeft(lo, 31)) & mask;
  }
}
