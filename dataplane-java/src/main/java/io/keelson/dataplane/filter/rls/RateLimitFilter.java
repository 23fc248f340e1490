package io.keelson.dataplane.filter.rls;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.RouteRateLimits;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.edge.DownstreamAddress;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import java.util.List;

/**
 * envoy.filters.http.ratelimit on a request: builds the descriptors of the filter's stage from the route's
 * rate_limits and, as Envoy, the virtual host's when the route has none or sets include_vh_rate_limits, or as
 * RateLimitPerRoute's vh_rate_limits says ({@link VhRateLimits}; {@link Descriptors}); a request with none makes no call, one with some hands the connection a
 * {@link RateLimitServiceCall}. Only forwarded routes are limited, and only requests of the configured type
 * (internal: {@code x-envoy-internal: true}). Allocates only for a request that has descriptors; thread-safe.
 */
final class RateLimitFilter implements HttpFilter {
  private final RateLimitConfig config;
  private final RateLimitStats stats;
  private final VhRateLimits vhRateLimits;

  RateLimitFilter(RateLimitConfig config, RateLimitStats stats, VhRateLimits vhRateLimits) {
    this.config = config;
    this.stats = stats;
    this.vhRateLimits = vhRateLimits;
  }

  @Override
  public void onRequest(FilterContext context) {
    RouteEntry route = context.route;
    if (route == null || !(route.action() instanceof RouteAction.Forward) || context.upstreamCluster == null) {
      return;
    }
    if (config.requestType() != RateLimitConfig.RequestType.BOTH
        && !config.requestType().applies("true".equals(context.head.header(DownstreamAddress.INTERNAL)))) {
      return;
    }
    RouteRateLimits own = route.rateLimits();
    List<RateLimitDescriptor> descriptors =
        Descriptors.add(own.policies(), config.stage(), context.head, context.upstreamCluster, context.remoteIp,
        context.metadata, null);
    VirtualHostConfig vh = context.virtualHost;
    VhRateLimits option = own.includeVirtualHost() ? VhRateLimits.INCLUDE : vhRateLimits;
    if (vh != null && (option == VhRateLimits.INCLUDE || (option == VhRateLimits.OVERRIDE && own.isEmpty()))) {
      descriptors = Descriptors.add(vh.rateLimits(), config.stage(), context.head, context.upstreamCluster, context.remoteIp,
          context.metadata, descriptors);
    }
    if (descriptors != null) {
      context.checkExternally(new RateLimitServiceCall(config, stats.of(context.upstreamCluster), descriptors));
    }
  }
}
