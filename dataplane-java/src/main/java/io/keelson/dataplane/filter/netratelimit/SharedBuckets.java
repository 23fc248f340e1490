package io.keelson.dataplane.filter.netratelimit;

import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The process's buckets by {@code share_key} (Envoy's shared token buckets): every chain or listener whose filter has
 * the key and the same token_bucket takes its tokens from one bucket, which also outlives listener updates that keep
 * both. A changed token_bucket under a key gets a bucket of its own. Bounded by the keys in config. Thread-safe.
 */
final class SharedBuckets {
  private record Key(String shareKey, TokenBucketSpec spec) {}

  private static final ConcurrentMap<Key, TokenBucket> BUCKETS = new ConcurrentHashMap<>();

  private SharedBuckets() {}

  static TokenBucket bucket(String shareKey, TokenBucketSpec spec) {
    return BUCKETS.computeIfAbsent(new Key(shareKey, spec), k -> spec.bucket(System::nanoTime));
  }
}
