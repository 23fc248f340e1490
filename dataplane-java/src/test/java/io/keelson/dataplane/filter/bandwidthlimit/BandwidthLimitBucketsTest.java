package io.keelson.dataplane.filter.bandwidthlimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.stats.StatsRegistry;
import org.junit.jupiter.api.Test;

/**
 * A config push must not refill bandwidth_limit's buckets: the next snapshot's filter at the same place (listener,
 * filter name, route) with an equal config draws on the bucket its predecessor spent; another place or a changed config
 * gets its own.
 */
class BandwidthLimitBucketsTest {
  private static final String NAME = "envoy.filters.http.bandwidth_limit";

  private static BandwidthLimitConfig config(long kbps) {
    return new BandwidthLimitConfig("bw", true, true, kbps * 1024, 50_000_000L, true);
  }

  private static BandwidthLimitFilter compile(String listener, String place, BandwidthLimitConfig c) {
    FilterResources snapshot = FilterResources.of(new StatsRegistry(), "ingress_http", listener).at(place);
    return (BandwidthLimitFilter) new BandwidthLimitFactory().create(c, snapshot);
  }

  @Test
  void theNextSnapshotsFilterAtTheSamePlaceWithAnEqualConfigKeepsTheSpentBucket() {
    BandwidthLimitFilter first = compile("listener-a", NAME, config(16));
    assertThat(first.requestBucket().acquireUpTo(1 << 20)).isEqualTo(16 * 1024); // spent whole
    BandwidthLimitFilter next = compile("listener-a", NAME, config(16));
    assertThat(next.requestBucket()).isSameAs(first.requestBucket());
    assertThat(next.requestBucket().remaining()).isLessThan(16 * 1024);

    assertThat(compile("listener-b", NAME, config(16)).requestBucket()).isNotSameAs(first.requestBucket());
    assertThat(compile("listener-a", "main#0/" + NAME, config(16)).requestBucket()).isNotSameAs(first.requestBucket());
    assertThat(compile("listener-a", NAME, config(32)).requestBucket()).isNotSameAs(first.requestBucket());
  }
}
