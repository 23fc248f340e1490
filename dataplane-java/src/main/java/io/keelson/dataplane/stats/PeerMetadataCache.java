package io.keelson.dataplane.stats;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Decoded {@code x-envoy-peer-metadata} values, keyed by the header string: a peer sidecar sends the same value on
 * every request, so each distinct value is decoded once. Bounded: past {@link #MAX_ENTRIES} distinct values a new one
 * is decoded on every request and not kept. Values that do not decode map to {@link MeshIdentity#UNKNOWN_IDENTITY}.
 * Thread-safe.
 */
public final class PeerMetadataCache {
  public static final int MAX_ENTRIES = 1024;

  private final ConcurrentMap<String, MeshIdentity> decoded = new ConcurrentHashMap<>();
  private final int max;

  public PeerMetadataCache() {
    this(MAX_ENTRIES);
  }

  PeerMetadataCache(int max) {
    this.max = max;
  }

  /** The peer {@code headerValue} names; allocation-free when it was seen before. */
  public MeshIdentity get(String headerValue) {
    MeshIdentity hit = decoded.get(headerValue);
    if (hit != null) {
      return hit;
    }
    MeshIdentity d = PeerMetadata.decode(headerValue);
    if (d == null) {
      d = MeshIdentity.UNKNOWN_IDENTITY;
    }
    if (decoded.size() < max) {
      decoded.putIfAbsent(headerValue, d);
    }
    return d;
  }

  int size() {
    return decoded.size();
  }
}
