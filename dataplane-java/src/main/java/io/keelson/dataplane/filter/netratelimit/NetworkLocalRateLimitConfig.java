package io.keelson.dataplane.filter.netratelimit;

import io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.ConnectionGate;
import io.keelson.dataplane.filter.ConnectionGateConfig;
import io.keelson.dataplane.filter.FeatureFlags;
import io.keelson.dataplane.filter.ratelimit.TokenBucketSpec;
import io.keelson.dataplane.stats.StatsRegistry;

/**
 * {@code envoy.filters.network.local_ratelimit}: one token per new connection of the filter chain, from a bucket of the
 * chain's own or, with a {@code share_key}, one shared by every chain and listener with that key and the same bucket.
 * Immutable.
 *
 * @param statPrefix stat_prefix (the counter is {@code local_ratelimit.<stat_prefix>.rate_limited})
 * @param bucket     token_bucket
 * @param enabled    runtime_enabled.default_value (true when unset)
 * @param shareKey   share_key, or "" for a bucket of this chain's own
 */
public record NetworkLocalRateLimitConfig(String statPrefix, TokenBucketSpec bucket, boolean enabled, String shareKey)
    implements ConnectionGateConfig {
  public static final String FILTER_NAME = "envoy.filters.network.local_ratelimit";

  /** The config of {@code c} at {@code path}, or null after reporting what is wrong. */
  public static NetworkLocalRateLimitConfig from(LocalRateLimit c, String path, ConfigErrors errors) {
    boolean ok = true;
    if (c.getStatPrefix().isEmpty()) {
      errors.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      ok = false;
    }
    if (!c.hasTokenBucket()) {
      errors.error(path + ".token_bucket", "a token_bucket is required (Envoy requires it too)");
      return null;
    }
    TokenBucketSpec bucket = TokenBucketSpec.read(c.getTokenBucket(), path + ".token_bucket", errors);
    Boolean enabled = FeatureFlags.enabled(c.hasRuntimeEnabled(), c.getRuntimeEnabled(), path + ".runtime_enabled", errors);
    ok &= bucket != null && enabled != null;
    return ok ? new NetworkLocalRateLimitConfig(c.getStatPrefix(), bucket, enabled, c.getShareKey()) : null;
  }

  @Override
  public ConnectionGate compile(StatsRegistry stats) {
    var bucket = shareKey.isEmpty() ? this.bucket.bucket(System::nanoTime) : SharedBuckets.bucket(shareKey, this.bucket);
    return new NetworkLocalRateLimit(enabled, bucket, stats.counter("local_ratelimit." + statPrefix + ".rate_limited"));
  }

  @Override
  public String filterName() {
    return FILTER_NAME;
  }
}
