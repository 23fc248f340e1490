package io.keelson.dataplane.filter.netratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Shared buckets live as long as a compiled filter holds them: a replaced token_bucket's bucket is forgotten. */
class SharedBucketsTest {
  @Test
  void aKeyAndBucketShareOneBucketAndAReplacedBucketIsForgotten() {
    String key = "shared-" + System.nanoTime(); // the map is the process's: a key no other test uses
    TokenBucketSpec first = new TokenBucketSpec(5, 5, Duration.ofSeconds(1));
    TokenBucketSpec changed = new TokenBucketSpec(9, 9, Duration.ofSeconds(1));
    TokenBucket kept = SharedBuckets.bucket(key, changed);
    TokenBucket old = SharedBuckets.bucket(key, first);
    assertThat(SharedBuckets.bucket(key, first)).isSameAs(old);
    assertThat(SharedBuckets.live(key)).isEqualTo(2);
    old = null; // the listener holding the first token_bucket was replaced
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      System.gc();
      return SharedBuckets.live(key) == 1;
    });
    assertThat(SharedBuckets.bucket(key, changed)).isSameAs(kept); // the next compile drops the cleared entry
    assertThat(SharedBuckets.entries(key)).isEqualTo(1);
  }
}
