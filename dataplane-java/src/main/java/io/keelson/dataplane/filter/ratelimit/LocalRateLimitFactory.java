package io.keelson.dataplane.filter.ratelimit;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.filter.Percents;

/**
 * {@code envoy.filters.http.local_ratelimit}: translates LocalRateLimit into {@link LocalRateLimitConfig}
 * and compiles {@link LocalRateLimitFilter}, each compiled filter with its own bucket. Stateless.
 */
public final class LocalRateLimitFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.local_ratelimit";
  }

  @Override
  public Class<? extends Message> configType() {
    return LocalRateLimit.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    LocalRateLimit c = (LocalRateLimit) message;
    boolean ok = true;
    if (c.getStatPrefix().isEmpty()) {
      errors.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      ok = false;
    }
    int status = 429;
    if (c.hasStatus()) {
      status = c.getStatus().getCodeValue();
      if (status < 400 || status > 599) {
        errors.error(path + ".status", status + " is out of range; expected 400-599");
        ok = false;
      }
    }
    if (!c.hasTokenBucket()) {
      // Envoy allows none (descriptors only); Keelson has no descriptors, so the filter would do nothing.
      errors.error(path + ".token_bucket", "a token_bucket is required");
      return null;
    }
    TokenBucketSpec bucket = TokenBucketSpec.read(c.getTokenBucket(), path + ".token_bucket", errors);
    ok &= bucket != null;
    Percent enabled = c.hasFilterEnabled() ? Percents.of(c.getFilterEnabled().getDefaultValue()) : Percent.NONE;
    Percent enforced = c.hasFilterEnforced() ? Percents.of(c.getFilterEnforced().getDefaultValue()) : Percent.NONE;
    if (c.hasFilterEnabled() && !c.getFilterEnabled().getRuntimeKey().isEmpty()) {
      errors.warn(path + ".filter_enabled.runtime_key", "ignored: Keelson has no runtime; default_value applies");
    }
    if (c.hasFilterEnforced() && !c.getFilterEnforced().getRuntimeKey().isEmpty()) {
      errors.warn(path + ".filter_enforced.runtime_key", "ignored: Keelson has no runtime; default_value applies");
    }
    StringBuilder headers = new StringBuilder();
    for (int i = 0; i < c.getResponseHeadersToAddCount(); i++) {
      HeaderValueOption h = c.getResponseHeadersToAdd(i);
      String key = h.getHeader().getKey();
      if (key.isEmpty() || key.indexOf('\r') >= 0 || key.indexOf('\n') >= 0 || h.getHeader().getValue().indexOf('\n') >= 0
          || h.getHeader().getValue().indexOf('\r') >= 0) {
        errors.error(path + ".response_headers_to_add[" + i + "].header", "expected a non-empty key and a value without line breaks");
        ok = false;
        continue;
      }
      headers.append(key).append(": ").append(h.getHeader().getValue()).append("\r\n");
    }
    boolean xHeaders = c.getEnableXRatelimitHeadersValue() != 0;
    return ok
        ? new LocalRateLimitConfig(c.getStatPrefix(), status, bucket, enabled, enforced, headers.toString(), xHeaders)
        : null;
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    LocalRateLimitConfig c = (LocalRateLimitConfig) settings;
    return new LocalRateLimitFilter(c, c.bucket().bucket(resources.nanoClock()), resources.random(), resources.stats());
  }
}
