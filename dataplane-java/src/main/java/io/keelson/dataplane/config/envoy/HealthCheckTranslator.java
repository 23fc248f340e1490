package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.keelson.dataplane.config.HealthCheckConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Translates a cluster's health_checks. Stateless. */
final class HealthCheckTranslator {
  private HealthCheckTranslator() {}

  /** health_checks[0], or null when the cluster has none or after reporting errors ({@code ok[0]} set false). */
  static HealthCheckConfig translate(Cluster c, String path, Problems problems, boolean[] ok) {
    if (c.getHealthChecksCount() == 0) {
      return null;
    }
    if (c.getHealthChecksCount() > 1) {
      problems.error(path + ".health_checks", c.getHealthChecksCount() + " health checks; expected at most one");
      ok[0] = false;
      return null;
    }
    String at = path + ".health_checks[0]";
    HealthCheck h = c.getHealthChecks(0);
    boolean good = true;
    if (!h.hasTimeout() || !h.hasInterval()) {
      problems.error(at, "timeout and interval are required (Envoy requires them too)");
      good = false;
    }
    Duration timeout = RouteTranslator.duration(h.getTimeout());
    Duration interval = RouteTranslator.duration(h.getInterval());
    if (h.hasTimeout() && (timeout.isZero() || timeout.isNegative())) {
      problems.error(at + ".timeout", timeout + " is out of range; expected above 0");
      good = false;
    }
    if (h.hasInterval() && (interval.isZero() || interval.isNegative())) {
      problems.error(at + ".interval", interval + " is out of range; expected above 0");
      good = false;
    }
    if (!h.hasUnhealthyThreshold() || !h.hasHealthyThreshold()) {
      problems.error(at, "unhealthy_threshold and healthy_threshold are required (Envoy requires them too)");
      good = false;
    }
    int unhealthy = Math.max(1, h.getUnhealthyThreshold().getValue());
    int healthy = Math.max(1, h.getHealthyThreshold().getValue());
    Duration jitter = RouteTranslator.duration(h.getIntervalJitter());
    HealthCheckConfig.Check check = switch (h.getHealthCheckerCase()) {
      case HTTP_HEALTH_CHECK -> {
        var http = h.getHttpHealthCheck();
        if (http.getPath().isEmpty() || !http.getPath().startsWith("/")) {
          problems.error(at + ".http_health_check.path", "'" + http.getPath() + "' is not a path; expected one starting with /");
          good = false;
        }
        List<HealthCheckConfig.StatusRange> ranges = new ArrayList<>();
        for (int i = 0; i < http.getExpectedStatusesCount(); i++) {
          var r = http.getExpectedStatuses(i);
          if (r.getStart() < 100 || r.getEnd() > 600 || r.getStart() >= r.getEnd()) {
            problems.error(at + ".http_health_check.expected_statuses[" + i + "]", "[" + r.getStart() + ", " + r.getEnd()
                + ") is not a status range; expected 100 <= start < end <= 600");
            good = false;
          }
          ranges.add(new HealthCheckConfig.StatusRange((int) r.getStart(), (int) r.getEnd()));
        }
        if (ranges.isEmpty()) {
          ranges.add(new HealthCheckConfig.StatusRange(200, 201));
        }
        yield new HealthCheckConfig.Http(http.getPath(), http.getHost().isEmpty() ? null : http.getHost(), ranges);
      }
      case TCP_HEALTH_CHECK -> new HealthCheckConfig.Tcp();
      case GRPC_HEALTH_CHECK -> {
        var grpc = h.getGrpcHealthCheck();
        yield new HealthCheckConfig.Grpc(grpc.getServiceName(), grpc.getAuthority().isEmpty() ? null : grpc.getAuthority());
      }
      default -> {
        problems.error(at, "a health check needs http_health_check, tcp_health_check or grpc_health_check");
        yield null;
      }
    };
    if (!good || check == null) {
      ok[0] = false;
      return null;
    }
    Duration noTraffic = positive(h.hasNoTrafficInterval(), h.getNoTrafficInterval(), HealthCheckConfig.Intervals.NO_TRAFFIC_DEFAULT);
    Duration unhealthyInterval = positive(h.hasUnhealthyInterval(), h.getUnhealthyInterval(), interval);
    var intervals = new HealthCheckConfig.Intervals(noTraffic,
        positive(h.hasNoTrafficHealthyInterval(), h.getNoTrafficHealthyInterval(), noTraffic),
        unhealthyInterval,
        positive(h.hasUnhealthyEdgeInterval(), h.getUnhealthyEdgeInterval(), unhealthyInterval),
        positive(h.hasHealthyEdgeInterval(), h.getHealthyEdgeInterval(), interval));
    return new HealthCheckConfig(timeout, interval, jitter, unhealthy, healthy, check, intervals);
  }

  /** A set interval above zero, else the default (Envoy's proto requires them above zero too). */
  private static Duration positive(boolean set, com.google.protobuf.Duration d, Duration fallback) {
    if (!set) {
      return fallback;
    }
    Duration v = RouteTranslator.duration(d);
    return v.isZero() || v.isNegative() ? fallback : v;
  }
}
