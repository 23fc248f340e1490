package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;

/**
 * A service's {@code HTTPLocalRateLimitPolicy} as the {@code envoy.filters.http.local_ratelimit} filter of its
 * sidecars' inbound HTTP connection manager (after JWT and RBAC, as Linkerd applies rate limits to authorized
 * requests): a token bucket of {@code total.requestsPerSecond} tokens refilled every second, enabled and enforced
 * for every request; a limited request gets 429. Stateless.
 */
final class RateLimitBuilder {
  /** The filter's stat prefix: counters {@code http_local_rate_limit.rate_limited} etc. on the sidecar. */
  static final String STAT_PREFIX = "http_local_rate_limit";

  private RateLimitBuilder() {}

  /** The filter for the sidecars of {@code service}, or null when no policy targets it. */
  static HttpFilter inbound(PolicySet state, String service) {
    if (service == null) {
      return null;
    }
    for (Policy.HttpLocalRateLimitPolicy p : state.ofType(Policy.HttpLocalRateLimitPolicy.class)) {
      if (p.service().equals(service)) {
        return filter(p.totalRequestsPerSecond());
      }
    }
    return null;
  }

  static HttpFilter filter(int requestsPerSecond) {
    RuntimeFractionalPercent all = RuntimeFractionalPercent.newBuilder()
        .setDefaultValue(FractionalPercent.newBuilder().setNumerator(100)
            .setDenominator(FractionalPercent.DenominatorType.HUNDRED))
        .build();
    LocalRateLimit config = LocalRateLimit.newBuilder()
        .setStatPrefix(STAT_PREFIX)
        .setTokenBucket(TokenBucket.newBuilder()
            .setMaxTokens(requestsPerSecond)
            .setTokensPerFill(UInt32Value.of(requestsPerSecond))
            .setFillInterval(com.google.protobuf.Duration.newBuilder().setSeconds(1)))
        .setFilterEnabled(all)
        .setFilterEnforced(all)
        .build();
    return HttpFilter.newBuilder().setName("envoy.filters.http.local_ratelimit").setTypedConfig(Any.pack(config)).build();
  }
}
