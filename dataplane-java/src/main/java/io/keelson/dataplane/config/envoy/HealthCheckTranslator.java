package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.keelson.dataplane.config.HealthCheckConfig;
import io.keelson.dataplane.config.LbOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Translates a cluster's health_checks and common_lb_config. Stateless. */
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
    return new HealthCheckConfig(timeout, interval, jitter, unhealthy, healthy, check);
  }

  static LbOptions lbOptions(Cluster c, String path, Problems problems, boolean[] ok) {
    long minRing = LbOptions.DEFAULT_MIN_RING;
    long maxRing = LbOptions.DEFAULT_MAX_RING;
    if (c.hasRingHashLbConfig()) {
      var r = c.getRingHashLbConfig();
      if (r.getHashFunction() != Cluster.RingHashLbConfig.HashFunction.XX_HASH) {
        problems.error(path + ".ring_hash_lb_config.hash_function", r.getHashFunction() + " is not supported; expected XX_HASH");
        ok[0] = false;
      }
      minRing = r.hasMinimumRingSize() ? r.getMinimumRingSize().getValue() : minRing;
      maxRing = r.hasMaximumRingSize() ? r.getMaximumRingSize().getValue() : maxRing;
      if (minRing < 1 || maxRing > LbOptions.DEFAULT_MAX_RING || minRing > maxRing) {
        problems.error(path + ".ring_hash_lb_config", "ring sizes [" + minRing + ", " + maxRing
            + "] are out of range; expected 1 <= minimum_ring_size <= maximum_ring_size <= " + LbOptions.DEFAULT_MAX_RING);
        ok[0] = false;
      }
    }
    int table = LbOptions.DEFAULT_MAGLEV_TABLE;
    if (c.hasMaglevLbConfig() && c.getMaglevLbConfig().hasTableSize()) {
      long t = c.getMaglevLbConfig().getTableSize().getValue();
      if (t < io.keelson.dataplane.packet.maglev.MaglevTable.DEFAULT_SIZE || t > 5_000_011 || !io.keelson.dataplane.packet.maglev.MaglevTable.isPrime((int) t)) {
        problems.error(path + ".maglev_lb_config.table_size", t + " is not supported; expected a prime from 65537 to 5000011");
        ok[0] = false;
      } else {
        table = (int) t;
      }
    }
    io.keelson.dataplane.config.SlowStartConfig slowStart = null;
    if (c.hasRoundRobinLbConfig() && c.getRoundRobinLbConfig().hasSlowStartConfig()) {
      slowStart = slowStart(c.getRoundRobinLbConfig().getSlowStartConfig(), path + ".round_robin_lb_config.slow_start_config", problems, ok);
    } else if (c.hasLeastRequestLbConfig() && c.getLeastRequestLbConfig().hasSlowStartConfig()) {
      slowStart = slowStart(c.getLeastRequestLbConfig().getSlowStartConfig(), path + ".least_request_lb_config.slow_start_config", problems, ok);
    }
    if (!c.hasCommonLbConfig()) {
      return new LbOptions(50, minRing, maxRing, table, false, slowStart);
    }
    var common = c.getCommonLbConfig();
    double panic = 50;
    if (common.hasHealthyPanicThreshold()) {
      panic = common.getHealthyPanicThreshold().getValue();
      if (panic < 0 || panic > 100) {
        problems.error(path + ".common_lb_config.healthy_panic_threshold.value", panic + " is out of range; expected 0-100");
        ok[0] = false;
      }
    }
    return new LbOptions(panic, minRing, maxRing, table, common.hasLocalityWeightedLbConfig(), slowStart);
  }

  private static io.keelson.dataplane.config.SlowStartConfig slowStart(
      Cluster.SlowStartConfig s, String path, Problems problems, boolean[] ok) {
    if (!s.hasSlowStartWindow()) {
      problems.error(path + ".slow_start_window", "a slow_start_window is required");
      ok[0] = false;
      return null;
    }
    Duration window = RouteTranslator.duration(s.getSlowStartWindow());
    double aggression = s.hasAggression() ? s.getAggression().getDefaultValue() : 1.0;
    double minPercent = s.hasMinWeightPercent() ? s.getMinWeightPercent().getValue() : 10.0;
    if (window.isNegative() || window.isZero()) {
      problems.error(path + ".slow_start_window", window + " is out of range; expected above 0");
      ok[0] = false;
    }
    if (!(aggression > 0)) {
      problems.error(path + ".aggression.default_value", aggression + " is out of range; expected above 0");
      ok[0] = false;
    }
    if (minPercent < 0 || minPercent > 100) {
      problems.error(path + ".min_weight_percent.value", minPercent + " is out of range; expected 0-100");
      ok[0] = false;
    }
    return new io.keelson.dataplane.config.SlowStartConfig(window, aggression, minPercent);
  }
}
