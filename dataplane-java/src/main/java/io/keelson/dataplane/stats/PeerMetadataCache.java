package io.keelson.dataplane.stats;

import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Decoded {@code x-envoy-peer-metadata} values, keyed by the header string: a peer sidecar sends the same value on
 * every request, so each distinct value is decoded once. Bounded at {@link #MAX_ENTRIES} by second-chance (clock)
 * eviction: a hit marks its entry used, and a new value past the bound evicts the first entry not used since the
 * hand last passed it, so the peers that keep calling stay decoded and a burst of new ones cannot pin the cache.
 * Values that do not decode are {@link MeshIdentity#UNKNOWN_IDENTITY} and are not kept. A hit allocates nothing.
 * Thread-safe.
 */
public final class PeerMetadataCache {
  public static final int MAX_ENTRIES = 1024;

  private final ConcurrentMap<String, Entry> decoded = new ConcurrentHashMap<>();
  private final int max;
  /** A value to the peer it names, or null when it names none. */
  private final java.util.function.Function<String, MeshIdentity> decoder;

  /** Of {@code x-envoy-peer-metadata} header values. */
  public PeerMetadataCache() {
    this(MAX_ENTRIES);
  }

  PeerMetadataCache(int max) {
    this(max, PeerMetadata::decode);
  }

  /** Of values {@code decoder} reads (e.g. the TCP exchange's frames, {@link PeerExchangeFrame#decodeKey}). */
  PeerMetadataCache(int max, java.util.function.Function<String, MeshIdentity> decoder) {
    this.max = max;
    this.decoder = decoder;
  }

  /** The peer {@code headerValue} names; allocation-free when it was seen before. */
  public MeshIdentity get(String headerValue) {
    Entry hit = decoded.get(headerValue);
    if (hit != null) {
      if (!hit.used) {
        hit.used = true;
      }
      return hit.identity;
    }
    MeshIdentity d = decoder.apply(headerValue);
    if (d == null) {
      return MeshIdentity.UNKNOWN_IDENTITY;
    }
    if (decoded.size() >= max) {
      evictOne();
    }
    decoded.putIfAbsent(headerValue, new Entry(d));
    return d;
  }

  /** Removes the first entry not used since the last pass, clearing the used mark of those it passes. */
  private void evictOne() {
    for (int pass = 0; pass < 2; pass++) {
      for (Iterator<Entry> it = decoded.values().iterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (!e.used) {
          it.remove();
          return;
        }
        e.used = false;
      }
    }
  }

  int size() {
    return decoded.size();
  }

  private static final class Entry {
    final MeshIdentity identity;
    volatile boolean used;

    Entry(MeshIdentity identity) {
      this.identity = identity;
    }
  }
}
