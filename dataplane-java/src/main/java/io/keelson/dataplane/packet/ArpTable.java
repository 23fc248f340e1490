package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;

/**
 * Next-hop IPv4 → MAC resolutions, bounded: open addressing over a fixed window of {@link #PROBES}
 * slots per address; when the window is full the stalest entry is replaced. An address with MAC 0
 * is one being resolved: its stamp is the time of the last who-has, which rate-limits requests.
 *
 * <p>A resolved entry older than {@link GatewayLimits#arpReachable()} stays in use while a who-has
 * re-confirms it (at most one per {@link GatewayLimits#arpRetry()}); the answer, or any ARP from
 * that sender, refreshes it, so a neighbour that changed its MAC is followed.
 *
 * <p>While an address is unresolved, packets for it are dropped ({@link DropReason#ARP_UNRESOLVED})
 * rather than held: holding would pin mbufs across bursts, and TCP's SYN retransmission (or the
 * client's retry) finds the entry learnt a moment later.
 *
 * <p>Threading: single writer and reader (the forwarding stage).
 */
final class ArpTable {
  static final int PROBES = 8;

  private final int[] ips;
  private final long[] macs;
  private final long[] stamps;
  /** When a who-has for a resolved entry last went out (refresh), to rate-limit refreshes. */
  private final long[] refreshed;
  private final int mask;

  ArpTable(int capacity) {
    int size = Integer.highestOneBit(Math.max(PROBES, capacity) - 1) << 1;
    ips = new int[size];
    macs = new long[size];
    stamps = new long[size];
    refreshed = new long[size];
    mask = size - 1;
  }

  /** The MAC for {@code ip}, or -1 when unknown or being resolved. */
  long lookup(int ip) {
    int i = home(ip);
    for (int k = 0; k < PROBES; k++, i = (i + 1) & mask) {
      if (ips[i] == ip) {
        long mac = macs[i];
        return mac == 0 ? -1 : mac;
      }
      if (ips[i] == 0) {
        return -1;
      }
    }
    return -1;
  }

  /**
   * True when {@code ip}'s MAC was learnt more than {@code reachableNanos} ago and no refresh went
   * out in the last {@code retryNanos}; records the refresh. The stale MAC stays in use meanwhile.
   */
  boolean shouldRefresh(int ip, long now, long reachableNanos, long retryNanos) {
    return shouldRefreshAt(slotOf(ip), now, reachableNanos, retryNanos);
  }

  /** {@link #shouldRefresh} for a slot from {@link #find} (saves the second probe per packet). */
  boolean shouldRefreshAt(int slot, long now, long reachableNanos, long retryNanos) {
    if (slot < 0 || macs[slot] == 0 || now - stamps[slot] <= reachableNanos || now - refreshed[slot] < retryNanos) {
      return false;
    }
    refreshed[slot] = now;
    return true;
  }

  /** The slot of {@code ip} (resolved or not), or -1. */
  int find(int ip) {
    return slotOf(ip);
  }

  /** The MAC in a slot from {@link #find}, or -1 when that entry is still being resolved. */
  long macAt(int slot) {
    long mac = macs[slot];
    return mac == 0 ? -1 : mac;
  }

  boolean contains(int ip) {
    return slotOf(ip) >= 0;
  }

  void learn(int ip, long mac, long now) {
    if (ip == 0 || mac == 0 || Ethernet.isGroup(mac)) {
      return;
    }
    int slot = slotFor(ip);
    macs[slot] = mac;
    stamps[slot] = now;
    refreshed[slot] = now;
  }

  /** True when a who-has for {@code ip} should go out now (none in the last {@code retryNanos}); records it. */
  boolean shouldRequest(int ip, long now, long retryNanos) {
    int slot = slotOf(ip);
    if (slot >= 0 && macs[slot] == 0 && now - stamps[slot] < retryNanos) {
      return false;
    }
    if (slot < 0) {
      slot = slotFor(ip);
      macs[slot] = 0;
    } else if (macs[slot] != 0) {
      return false; // resolved: refreshes go through shouldRefresh
    }
    stamps[slot] = now;
    return true;
  }

  private int slotOf(int ip) {
    int i = home(ip);
    for (int k = 0; k < PROBES; k++, i = (i + 1) & mask) {
      if (ips[i] == ip) {
        return i;
      }
      if (ips[i] == 0) {
        return -1;
      }
    }
    return -1;
  }

  /** The slot holding {@code ip}, else an empty one, else the stalest of the window (replaced). */
  private int slotFor(int ip) {
    int i = home(ip);
    int stalest = i;
    for (int k = 0; k < PROBES; k++, i = (i + 1) & mask) {
      if (ips[i] == ip) {
        return i;
      }
      if (ips[i] == 0) {
        ips[i] = ip;
        return i;
      }
      if (stamps[i] < stamps[stalest]) {
        stalest = i;
      }
    }
    ips[stalest] = ip;
    return stalest;
  }

  private int home(int ip) {
    return (int) MaglevTable.mix(ip) & mask;
  }
}
