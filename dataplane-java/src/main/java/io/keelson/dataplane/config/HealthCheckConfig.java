package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;

/**
 * Envoy's active HealthCheck of a cluster. Immutable.
 *
 * @param timeout            time to wait for one check's answer
 * @param interval           time between checks of one endpoint
 * @param intervalJitter     up to this much is added at random to each interval
 * @param unhealthyThreshold consecutive failures that mark a healthy endpoint unhealthy
 * @param healthyThreshold   consecutive successes that mark an unhealthy endpoint healthy again
 * @param check              what one check does
 * @param intervals          Envoy's special intervals (no traffic, unhealthy, edges)
 */
public record HealthCheckConfig(
    Duration timeout,
    Duration interval,
    Duration intervalJitter,
    int unhealthyThreshold,
    int healthyThreshold,
    Check check,
    Intervals intervals) {

  public HealthCheckConfig(Duration timeout, Duration interval, Duration intervalJitter, int unhealthyThreshold,
      int healthyThreshold, Check check) {
    this(timeout, interval, intervalJitter, unhealthyThreshold, healthyThreshold, check, Intervals.defaults(interval));
  }

  /**
   * Envoy's intervals besides {@code interval}, resolved to their defaults.
   *
   * @param noTraffic        while the cluster has never opened an upstream connection (default 60 s)
   * @param noTrafficHealthy as noTraffic, for an endpoint that is healthy (default noTraffic)
   * @param unhealthy        between checks of an unhealthy endpoint (default interval)
   * @param unhealthyEdge    the first check after an endpoint turned unhealthy (default unhealthy)
   * @param healthyEdge      the first check after an endpoint turned healthy (default interval)
   */
  public record Intervals(Duration noTraffic, Duration noTrafficHealthy, Duration unhealthy, Duration unhealthyEdge,
      Duration healthyEdge) {
    public static final Duration NO_TRAFFIC_DEFAULT = Duration.ofSeconds(60);

    /** Envoy's defaults for a health check with this {@code interval}. */
    public static Intervals defaults(Duration interval) {
      return new Intervals(NO_TRAFFIC_DEFAULT, NO_TRAFFIC_DEFAULT, interval, interval, interval);
    }
  }

  /** What one check does. */
  public sealed interface Check permits Http, Tcp, Grpc {}

  /**
   * http_health_check: GET {@code path}; healthy when the status is in one of {@code expectedStatuses}.
   *
   * @param host             the Host header, or null for the cluster name
   * @param expectedStatuses half-open ranges [start, end); Envoy's default is [200, 201)
   */
  public record Http(String path, String host, List<StatusRange> expectedStatuses) implements Check {
    public Http {
      expectedStatuses = List.copyOf(expectedStatuses);
    }

    public boolean expected(int status) {
      for (StatusRange r : expectedStatuses) {
        if (status >= r.start() && status < r.end()) {
          return true;
        }
      }
      return false;
    }
  }

  /** A half-open range of statuses [start, end). */
  public record StatusRange(int start, int end) {}

  /** tcp_health_check with empty send and receive: healthy when the connection is accepted. */
  public record Tcp() implements Check {}

  /**
   * grpc_health_check: grpc.health.v1.Health/Check over HTTP/2; healthy on SERVING.
   *
   * @param serviceName the service to ask about ("" for the server as a whole)
   * @param authority   the :authority, or null for the cluster name
   */
  public record Grpc(String serviceName, String authority) implements Check {}
}
