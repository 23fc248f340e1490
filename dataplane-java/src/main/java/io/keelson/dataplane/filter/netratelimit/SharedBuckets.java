package io.keelson.dataplane.filter.netratelimit;

import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;

/**
 * The process's buckets by {@code share_key} (Envoy's shared token buckets): every chain or listener whose filter has
 * the key and the same token_bucket takes its tokens from one bucket, which also outlives listener updates that keep
 * both. A changed token_bucket under a key gets a bucket of its own. Only the compiled filters hold a bucket; the map
 * holds it weakly and forgets the keys whose bucket no live listener config holds any more (when the next filter is
 * compiled), so changing a token_bucket does not leak the old one. Called when listener config is installed, never per
 * connection. Thread-safe.
 */
final class SharedBuckets {
  private record Key(String shareKey, TokenBucketSpec spec) {}

  private static final Map<Key, WeakReference<TokenBucket>> BUCKETS = new HashMap<>();

  private SharedBuckets() {}

  static synchronized TokenBucket bucket(String shareKey, TokenBucketSpec spec) {
    BUCKETS.values().removeIf(ref -> ref.refersTo(null));
    Key key = new Key(shareKey, spec);
    WeakReference<TokenBucket> ref = BUCKETS.get(key);
    TokenBucket bucket = ref == null ? null : ref.get();
    if (bucket == null) {
      bucket = spec.bucket(System::nanoTime);
      BUCKETS.put(key, new WeakReference<>(bucket));
    }
    return bucket;
  }

  /** How many buckets under {@code shareKey} are still held by some compiled filter. */
  static synchronized int live(String shareKey) {
    int n = 0;
    for (Map.Entry<Key, WeakReference<TokenBucket>> e : BUCKETS.entrySet()) {
      if (e.getKey().shareKey().equals(shareKey) && !e.getValue().refersTo(null)) {
        n++;
      }
    }
    return n;
  }

  /** How many entries the map holds under {@code shareKey}, cleared ones included (until the next compile). */
  static synchronized int entries(String shareKey) {
    int n = 0;
    for (Key k : BUCKETS.keySet()) {
      if (k.shareKey().equals(shareKey)) {
        n++;
      }
    }
    return n;
  }
}
