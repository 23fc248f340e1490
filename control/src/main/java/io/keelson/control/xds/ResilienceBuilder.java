package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.keelson.control.policy.Policy;
import java.time.Duration;

/**
 * Policy resilience settings to Envoy fields, as Istio translates them: connectionPool to
 * circuit_breakers (its idle timeout and HTTP/2 settings: {@link UpstreamProtocols}), outlierDetection to outlier_detection (success-rate
 * ejection off, gateway errors enforced), retries to a retry_policy that avoids hosts already tried.
 * Stateless.
 */
final class ResilienceBuilder {
  static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";
  static final String UPSTREAM_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private ResilienceBuilder() {}

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  /** @param hashed the route hashes requests to hosts (consistent hashing): retries keep the hash, as istiod's do */
  static RetryPolicy retryPolicy(Policy.Retry r, boolean hashed) {
    RetryPolicy.Builder b = RetryPolicy.newBuilder()
        .setRetryOn(String.join(",", r.retryOn()))
        .setNumRetries(UInt32Value.of(r.attempts()));
    if (r.attempts() > 0 && !hashed) {
      b.addRetryHostPredicate(RetryPolicy.RetryHostPredicate.newBuilder().setName(PREVIOUS_HOSTS)
          .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDefaultInstance())))
          .setHostSelectionRetryMaxAttempts(5);
    }
    if (r.perTryTimeout() != null) {
      b.setPerTryTimeout(duration(r.perTryTimeout()));
    }
    if (r.backoff() != null && !r.backoff().isZero()) {
      b.setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(duration(r.backoff())));
    }
    b.addAllRetriableStatusCodes(r.statusCodes());
    return b.build();
  }

  /** istiod's "no limit" (math.MaxUint32 as a uint32). */
  static final int UNLIMITED = -1;

  /**
   * istiod's default thresholds on every cluster ({@code getDefaultCircuitBreakerThresholds}): no limit on connections,
   * pending requests, requests or retries (Envoy's own defaults are 1024, 1024, 1024 and 3), remaining counts tracked.
   */
  static CircuitBreakers.Thresholds.Builder defaultThresholds() {
    return CircuitBreakers.Thresholds.newBuilder()
        .setMaxConnections(UInt32Value.of(UNLIMITED))
        .setMaxPendingRequests(UInt32Value.of(UNLIMITED))
        .setMaxRequests(UInt32Value.of(UNLIMITED))
        .setMaxRetries(UInt32Value.of(UNLIMITED))
        .setTrackRemaining(true);
  }

  /**
   * Adds istiod's default circuit-breaker thresholds, with a destination rule's connection pool limits over them,
   * and its outlier detection to a cluster ({@link ClusterDefaults} is the one caller). Without {@code istioDefaults}
   * (clusters for proxyless gRPC clients, as istiod's grpcgen builds them) only a destination rule's limits are set: grpc-java reads
   * max_requests as a signed int, so 4294967295 would refuse every call ("Cluster max concurrent requests limit
   * exceeded").
   */
  static void apply(Cluster.Builder c, Policy.DestinationRule dr, boolean istioDefaults) {
    Policy.ConnectionPool cp = dr == null ? null : dr.connectionPool();
    if (!istioDefaults && cp == null) {
      if (dr != null) {
        outlierDetection(c, dr);
      }
      return;
    }
    CircuitBreakers.Thresholds.Builder t = istioDefaults ? defaultThresholds() : CircuitBreakers.Thresholds.newBuilder();
    if (cp != null) {
      if (cp.maxConnections() != null) {
        t.setMaxConnections(UInt32Value.of(cp.maxConnections()));
      }
      if (cp.maxPendingRequests() != null) {
        t.setMaxPendingRequests(UInt32Value.of(cp.maxPendingRequests()));
      }
      if (cp.maxRequests() != null) {
        t.setMaxRequests(UInt32Value.of(cp.maxRequests()));
      }
      if (cp.maxRetries() != null) {
        t.setMaxRetries(UInt32Value.of(cp.maxRetries()));
      }
      // The idle timeout is part of the upstream protocol options: UpstreamProtocols.apply.
    }
    c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(t));
    if (dr != null) {
      outlierDetection(c, dr);
    }
  }

  private static void outlierDetection(Cluster.Builder c, Policy.DestinationRule dr) {
    Policy.OutlierDetection od = dr.outlierDetection();
    if (od != null) {
      OutlierDetection.Builder o = OutlierDetection.newBuilder()
          .setEnforcingSuccessRate(UInt32Value.of(0)); // as Istio: consecutive errors only
      if (od.consecutive5xxErrors() != null) {
        o.setConsecutive5Xx(UInt32Value.of(od.consecutive5xxErrors()));
        o.setEnforcingConsecutive5Xx(UInt32Value.of(od.consecutive5xxErrors() > 0 ? 100 : 0));
      }
      if (od.consecutiveGatewayErrors() != null) {
        o.setConsecutiveGatewayFailure(UInt32Value.of(od.consecutiveGatewayErrors()));
        o.setEnforcingConsecutiveGatewayFailure(UInt32Value.of(od.consecutiveGatewayErrors() > 0 ? 100 : 0));
      }
      if (od.interval() != null) {
        o.setInterval(duration(od.interval()));
      }
      if (od.baseEjectionTime() != null) {
        o.setBaseEjectionTime(duration(od.baseEjectionTime()));
      }
      if (od.maxEjectionPercent() != null) {
        o.setMaxEjectionPercent(UInt32Value.of(od.maxEjectionPercent()));
      }
      if (Boolean.TRUE.equals(od.splitExternalLocalOriginErrors())) {
        // istiod: local-origin failures (connect failure, timeout, reset) counted apart from the 5xx responses
        o.setSplitExternalLocalOriginErrors(true);
        // As istiod: only a count above 0 is set (enforced at 100%); 0 leaves Envoy's default (5, enforced).
        if (od.consecutiveLocalOriginFailures() != null && od.consecutiveLocalOriginFailures() > 0) {
          o.setConsecutiveLocalOriginFailure(UInt32Value.of(od.consecutiveLocalOriginFailures()));
          o.setEnforcingConsecutiveLocalOriginFailure(UInt32Value.of(100));
        }
      }
      c.setOutlierDetection(o);
    }
  }
}
