package io.keelson.dataplane.filter.ratelimit;

import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Token buckets by key that outlive config updates: a filter compiled again under an equal key (the next served
 * snapshot, an xDS push that kept it) takes the bucket its predecessor drew on, so a config push never hands out a
 * fresh, full bucket. Only compiled filters hold a bucket; the map holds it weakly and forgets the keys whose bucket no
 * live config holds any more (at the next lookup), so a changed config does not leak the old one. Called when config is
 * compiled, never per request. Thread-safe.
 *
 * @param <K> the key: the bucket's owner and everything that shapes the bucket (an equal key is the same bucket)
 */
public final class RetainedBuckets<K> {
  private final Map<K, WeakReference<TokenBucket>> buckets = new HashMap<>();

  /** The live bucket under {@code key}, or a new one from {@code create}. */
  public synchronized TokenBucket bucket(K key, Supplier<TokenBucket> create) {
    buckets.values().removeIf(ref -> ref.refersTo(null));
    WeakReference<TokenBucket> ref = buckets.get(key);
    TokenBucket bucket = ref == null ? null : ref.get();
    if (bucket == null) {
      bucket = create.get();
      buckets.put(key, new WeakReference<>(bucket));
    }
    return bucket;
  }

  /** How many buckets under keys matching {@code which} are still held by some compiled filter. */
  public synchronized int live(Predicate<K> which) {
    int n = 0;
    for (Map.Entry<K, WeakReference<TokenBucket>> e : buckets.entrySet()) {
      if (which.test(e.getKey()) && !e.getValue().refersTo(null)) {
        n++;
      }
    }
    return n;
  }

  /** How many entries match {@code which}, cleared ones included (until the next lookup). */
  public synchronized int entries(Predicate<K> which) {
    int n = 0;
    for (K k : buckets.keySet()) {
      if (which.test(k)) {
        n++;
      }
    }
    return n;
  }
}
