package io.keelson.dataplane.filter.healthcheck;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.ServerState;

/**
 * Envoy's health check filter: a request matching every configured header is a health check, answered by the proxy
 * itself (200, or 503 while the server fails health checks: admin {@code /healthcheck/fail}, or draining), or in
 * pass-through mode forwarded unless the server fails them. While it fails, every other response carries
 * {@code x-envoy-immediate-health-check-fail: true}, so Envoy upstreams stop sending to it at once. Thread-safe
 * (immutable; reads volatile server state).
 */
final class HealthCheckFilter implements HttpFilter {
  static final String IMMEDIATE_FAIL = "x-envoy-immediate-health-check-fail: true\r\n";

  private final boolean passThrough;
  private final HeaderMatch[] headers;
  private final ServerState server;

  HealthCheckFilter(HealthCheckConfig config, ServerState server) {
    this.passThrough = config.passThrough();
    this.headers = config.headers().toArray(HeaderMatch[]::new);
    this.server = server;
  }

  @Override
  public void onRequest(FilterContext context) {
    boolean failing = server.failing();
    if (!isHealthCheck(context)) {
      if (failing) {
        context.addResponseHeaders(IMMEDIATE_FAIL);
      }
      return;
    }
    context.markHealthCheck();
    if (failing) {
      context.localReply(503, "", null, ResponseFlag.LH); // Envoy's FailedLocalHealthCheck
    } else if (!passThrough) {
      context.localReply(200, "", null, ResponseFlag.NONE);
    }
  }

  private boolean isHealthCheck(FilterContext context) {
    for (HeaderMatch h : headers) {
      if (!h.matches(context.head)) {
        return false;
      }
    }
    return true;
  }
}
