package io.keelson.control.xds;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Resources derived from a translation instance (compared by identity, as translations are immutable and shared) and a
 * variant (a client namespace, ...), the least recently used dropped past {@code capacity} entries: a bound on the
 * copies held, not on the translations. The same input gives the same derived instance, so caches keyed by identity
 * downstream (TelemetryCache) keep hitting. Not thread-safe: its owner's lock guards it.
 */
final class DerivedResourcesCache {
  private record Key(MeshResources source, String variant) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.source == source && k.variant.equals(variant);
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(source) * 31 + variant.hashCode();
    }
  }

  private final Map<Key, MeshResources> entries;

  DerivedResourcesCache(int capacity) {
    this.entries = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, MeshResources> eldest) {
        return size() > capacity;
      }
    };
  }

  /** {@code derive(source)} for {@code variant}, computed once while it stays cached. */
  MeshResources get(MeshResources source, String variant, UnaryOperator<MeshResources> derive) {
    Key key = new Key(source, variant);
    MeshResources derived = entries.get(key);
    if (derived == null) {
      derived = derive.apply(source);
      entries.put(key, derived);
    }
    return derived;
  }

  int size() {
    return entries.size();
  }

  void clear() {
    entries.clear();
  }
}
