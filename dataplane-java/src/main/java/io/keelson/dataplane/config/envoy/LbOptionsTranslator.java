package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.dataplane.config.LbOptions;
import java.time.Duration;

/**
 * Translates a cluster's balancing options besides lb_policy: common_lb_config (panic threshold,
 * locality weighting), ring_hash_lb_config, maglev_lb_config and slow_start_config. Stateless.
 */
final class LbOptionsTranslator {
  private LbOptionsTranslator() {}

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
      return new LbOptions(50, minRing, maxRing, table, false, slowStart, LbOptions.OVERRIDE_HEALTHY);
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
    int overrideHosts = common.hasOverrideHostStatus() ? overrideHosts(common.getOverrideHostStatus()) : LbOptions.OVERRIDE_HEALTHY;
    return new LbOptions(panic, minRing, maxRing, table, common.hasLocalityWeightedLbConfig(), slowStart, overrideHosts);
  }

  /** Envoy's coarse reading of override_host_status: UNKNOWN, HEALTHY, DEGRADED are healthy; the rest unhealthy. */
  private static int overrideHosts(io.envoyproxy.envoy.config.core.v3.HealthStatusSet set) {
    int out = 0;
    for (var status : set.getStatusesList()) {
      out |= switch (status) {
        case UNKNOWN, HEALTHY, DEGRADED -> LbOptions.OVERRIDE_HEALTHY;
        case UNHEALTHY, DRAINING, TIMEOUT -> LbOptions.OVERRIDE_UNHEALTHY;
        case UNRECOGNIZED -> 0;
      };
    }
    return out;
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
