package io.keelson.dataplane.filter.healthcheck;

import io.keelson.dataplane.route.HeaderMatch;
import java.util.List;

/**
 * Envoy's HealthCheck filter config, as Keelson runs it. Immutable.
 *
 * @param passThrough pass_through_mode: health check requests go on to the upstream (answered locally only while the
 *                    server fails health checks); false answers them locally
 * @param headers     headers: a request is a health check when it matches every one
 */
public record HealthCheckConfig(boolean passThrough, List<HeaderMatch> headers) {
  public HealthCheckConfig {
    headers = List.copyOf(headers);
  }
}
