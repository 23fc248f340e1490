package io.keelson.dataplane.filter.rls;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.ratelimit}: translates {@code RateLimit} into {@link RateLimitConfig} and compiles
 * {@link RateLimitFilter}; a route's or virtual host's {@code RateLimitPerRoute} sets {@code vh_rate_limits} on the
 * filter for its routes (its other fields are refused by path). Stateless.
 */
public final class RateLimitFilterFactory implements HttpFilterFactory {
  public static final String FILTER_NAME = "envoy.filters.http.ratelimit";
  /** Envoy's default timeout of the rate limit service call. */
  static final long DEFAULT_TIMEOUT_NANOS = 20_000_000L;

  @Override
  public String filterName() {
    return FILTER_NAME;
  }

  @Override
  public Class<? extends Message> configType() {
    return RateLimit.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return RateLimitPerRoute.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    RateLimit c = (RateLimit) message;
    boolean ok = true;
    if (c.getDomain().isEmpty()) {
      errors.error(path + ".domain", "a domain is required (the rate limit service's configuration domain)");
      ok = false;
    }
    if (c.getStage() > 10) {
      errors.error(path + ".stage", "expected a stage between 0 and 10, got " + Integer.toUnsignedString(c.getStage()));
      ok = false;
    }
    RateLimitConfig.RequestType type = switch (c.getRequestType()) {
      case "", "both" -> RateLimitConfig.RequestType.BOTH;
      case "internal" -> RateLimitConfig.RequestType.INTERNAL;
      case "external" -> RateLimitConfig.RequestType.EXTERNAL;
      default -> {
        errors.error(path + ".request_type", "expected internal, external or both, got '" + c.getRequestType() + "'");
        yield null;
      }
    };
    long timeout = c.hasTimeout() ? c.getTimeout().getSeconds() * 1_000_000_000L + c.getTimeout().getNanos() : DEFAULT_TIMEOUT_NANOS;
    if (timeout <= 0) {
      errors.error(path + ".timeout", "expected a positive duration (20ms by default)");
      ok = false;
    }
    String at = path + ".rate_limit_service";
    String cluster = null;
    String authority = null;
    if (!c.hasRateLimitService()) {
      errors.error(at, "a rate limit service is required; expected rate_limit_service: { grpc_service: { envoy_grpc:"
          + " { cluster_name: ... } }, transport_api_version: V3 }");
      ok = false;
    } else {
      var s = c.getRateLimitService();
      if (s.getTransportApiVersion() != ApiVersion.V3) {
        errors.error(at + ".transport_api_version", "expected V3 (Envoy requires it), got " + s.getTransportApiVersion());
        ok = false;
      }
      if (!s.getGrpcService().hasEnvoyGrpc()) {
        errors.error(at + ".grpc_service", "expected envoy_grpc: { cluster_name: ... }");
        ok = false;
      } else {
        cluster = s.getGrpcService().getEnvoyGrpc().getClusterName();
        authority = s.getGrpcService().getEnvoyGrpc().getAuthority().isEmpty() ? cluster
            : s.getGrpcService().getEnvoyGrpc().getAuthority();
        if (cluster.isEmpty()) {
          errors.error(at + ".grpc_service.envoy_grpc.cluster_name", "the rate limit service's cluster is required");
          ok = false;
        }
      }
    }
    if (c.getEnableXRatelimitHeaders() == RateLimit.XRateLimitHeadersRFCVersion.UNRECOGNIZED) {
      errors.error(path + ".enable_x_ratelimit_headers", "expected OFF or DRAFT_VERSION_03");
      ok = false;
    }
    int limited = c.hasRateLimitedStatus() ? c.getRateLimitedStatus().getCodeValue() : 429;
    if (limited < 400 || limited > 599) {
      limited = 429; // Envoy: a code below 400 falls back to 429
    }
    int onError = 500;
    if (c.hasStatusOnError()) {
      onError = c.getStatusOnError().getCodeValue();
      if (onError < 200 || onError > 599) {
        errors.error(path + ".status_on_error.code", "expected an HTTP status between 200 and 599, got " + onError);
        ok = false;
      }
    }
    if (!ok || type == null) {
      return null;
    }
    return new RateLimitConfig(c.getDomain(), c.getStage(), type, timeout, c.getFailureModeDeny(), cluster, authority,
        c.getEnableXRatelimitHeaders() == RateLimit.XRateLimitHeadersRFCVersion.DRAFT_VERSION_03, limited, onError,
        !c.getDisableXEnvoyRatelimitedHeader());
  }

  /** A route's or virtual host's RateLimitPerRoute: how the virtual host's rate limits combine with the route's. */
  record PerRoute(VhRateLimits vhRateLimits) {}

  @Override
  public Object translatePerRoute(Message message, String path, ConfigErrors errors) {
    RateLimitPerRoute p = (RateLimitPerRoute) message; // rate_limits, domain and override_option are refused by path
    return switch (p.getVhRateLimits()) {
      case OVERRIDE -> new PerRoute(VhRateLimits.OVERRIDE);
      case INCLUDE -> new PerRoute(VhRateLimits.INCLUDE);
      case IGNORE -> new PerRoute(VhRateLimits.IGNORE);
      default -> {
        errors.error(path + ".vh_rate_limits", "expected OVERRIDE, INCLUDE or IGNORE");
        yield null;
      }
    };
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    if (settings instanceof PerRoute) {
      throw new IllegalStateException("RateLimitPerRoute is compiled with the filter's own config (createOverride)");
    }
    return new RateLimitFilter((RateLimitConfig) settings, new RateLimitStats(resources.stats()), VhRateLimits.OVERRIDE);
  }

  @Override
  public HttpFilter createOverride(Object listenerSettings, Object settings, FilterResources resources) {
    return new RateLimitFilter((RateLimitConfig) listenerSettings, new RateLimitStats(resources.stats()),
        ((PerRoute) settings).vhRateLimits());
  }
}
