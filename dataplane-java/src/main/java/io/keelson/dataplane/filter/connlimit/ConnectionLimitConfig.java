package io.keelson.dataplane.filter.connlimit;

import io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.ConnectionGate;
import io.keelson.dataplane.filter.ConnectionGateConfig;
import io.keelson.dataplane.filter.FeatureFlags;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;

/**
 * {@code envoy.filters.network.connection_limit}: at most {@code maxConnections} open connections through the filter
 * chain; one over the limit is closed, after {@code delay} when set. Immutable.
 *
 * @param statPrefix     stat_prefix (stats are {@code connection_limit.<stat_prefix>.limited_connections} and
 *                       {@code .active_connections})
 * @param maxConnections max_connections (at least 1)
 * @param delay          delay before an over-limit connection is closed; ZERO closes it at once
 * @param enabled        runtime_enabled.default_value (true when unset)
 */
public record ConnectionLimitConfig(String statPrefix, long maxConnections, Duration delay, boolean enabled)
    implements ConnectionGateConfig {
  public static final String FILTER_NAME = "envoy.filters.network.connection_limit";

  /** The config of {@code c} at {@code path}, or null after reporting what is wrong. */
  public static ConnectionLimitConfig from(ConnectionLimit c, String path, ConfigErrors errors) {
    boolean ok = true;
    if (c.getStatPrefix().isEmpty()) {
      errors.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      ok = false;
    }
    if (!c.hasMaxConnections() || c.getMaxConnections().getValue() < 1) {
      errors.error(path + ".max_connections", "expected at least 1 (Envoy requires it)");
      ok = false;
    }
    Duration delay = Duration.ofSeconds(c.getDelay().getSeconds(), c.getDelay().getNanos());
    if (delay.isNegative()) {
      errors.error(path + ".delay", delay + " is negative; expected a duration of at least 0");
      ok = false;
    }
    Boolean enabled = FeatureFlags.enabled(c.hasRuntimeEnabled(), c.getRuntimeEnabled(), path + ".runtime_enabled", errors);
    return ok && enabled != null
        ? new ConnectionLimitConfig(c.getStatPrefix(), c.getMaxConnections().getValue(), delay, enabled)
        : null;
  }

  @Override
  public ConnectionGate compile(StatsRegistry stats) {
    String p = "connection_limit." + statPrefix + ".";
    return new ConnectionLimiter(this, stats.counter(p + "limited_connections"), stats.gauge(p + "active_connections"));
  }

  @Override
  public String filterName() {
    return FILTER_NAME;
  }
}
