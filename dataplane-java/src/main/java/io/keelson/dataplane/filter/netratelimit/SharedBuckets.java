package io.keelson.dataplane.filter.netratelimit;

import io.keelson.dataplane.filter.ratelimit.RetainedBuckets;
import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;

/**
 * The process's buckets by {@code share_key} (Envoy's shared token buckets): every chain or listener whose filter has
 * the key and the same token_bucket takes its tokens from one bucket, which also outlives listener updates that keep
 * both. A changed token_bucket under a key gets a bucket of its own; the old one is forgotten once no live listener
 * config holds it ({@link RetainedBuckets}). Called when listener config is installed, never per connection.
 * Thread-safe.
 */
final class SharedBuckets {
  private record Key(String shareKey, TokenBucketSpec spec) {}

  private static final RetainedBuckets<Key> BUCKETS = new RetainedBuckets<>();

  private SharedBuckets() {}

  static TokenBucket bucket(String shareKey, TokenBucketSpec spec) {
    return BUCKETS.bucket(new Key(shareKey, spec), () -> spec.bucket(System::nanoTime));
  }

  /** How many buckets under {@code shareKey} are still held by some compiled filter. */
  static int live(String shareKey) {
    return BUCKETS.live(k -> k.shareKey().equals(shareKey));
  }

  /** How many entries the map holds under {@code shareKey}, cleared ones included (until the next compile). */
  static int entries(String shareKey) {
    return BUCKETS.entries(k -> k.shareKey().equals(shareKey));
  }
}
