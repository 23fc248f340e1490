package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.OutlierDetectionConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.config.RouteAction;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** retry_policy, circuit_breakers and outlier_detection: Envoy's fields and defaults, and named errors. */
class ResilienceTranslationTest {
  private static final String BASE = BootstrapLoaderTest.fixture("minimal.yaml");

  private static String edit(String config, String from, String to) {
    assertThat(config).contains(from);
    return config.replace(from, to);
  }

  private static RouteAction.Forward route(ProxySnapshot s, int index) {
    return (RouteAction.Forward) s.listeners().getFirst().http().routeConfig().virtualHosts().getFirst().routes().get(index).action();
  }

  @Test
  void routeRetryPolicyOverridesTheVirtualHostOneWithEnvoyDefaults() throws Exception {
    String yaml = edit(BASE, "              domains: [\"*\"]\n", """
                      domains: ["*"]
                      retry_policy: { retry_on: "gateway-error" }
                      per_request_buffer_limit_bytes: 2048
        """);
    yaml = edit(yaml, "                  cluster: backend\n", """
                          cluster: backend
                          priority: HIGH
                          retry_policy:
                            retry_on: "5xx,reset,connect-failure,retriable-4xx,retriable-status-codes,unavailable,cancelled"
                            num_retries: 4
                            per_try_timeout: 0.25s
                            retriable_status_codes: [418]
                            retry_back_off: { base_interval: 0.1s }
                            retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts }]
                            host_selection_retry_max_attempts: 5
        """);
    ProxySnapshot s = BootstrapLoader.fromYaml(yaml, "config.yaml");
    RetryPolicy vh = route(s, 0).retryPolicy();
    assertThat(vh.retryOn()).isEqualTo(RetryPolicy.RETRY_ON_GATEWAY_ERROR);
    assertThat(vh.numRetries()).isEqualTo(1);
    assertThat(vh.baseInterval()).isEqualTo(Duration.ofMillis(25));
    assertThat(vh.maxInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(vh.perRequestBufferLimitBytes()).isEqualTo(2048);
    assertThat(route(s, 0).highPriority()).isFalse();
    RetryPolicy r = route(s, 1).retryPolicy();
    assertThat(r.retryOn()).isEqualTo(RetryPolicy.RETRY_ON_5XX | RetryPolicy.RETRY_ON_RESET | RetryPolicy.RETRY_ON_CONNECT_FAILURE
        | RetryPolicy.RETRY_ON_RETRIABLE_4XX | RetryPolicy.RETRY_ON_RETRIABLE_STATUS_CODES | RetryPolicy.RETRY_ON_GRPC_UNAVAILABLE
        | RetryPolicy.RETRY_ON_GRPC_CANCELLED);
    assertThat(r.numRetries()).isEqualTo(4);
    assertThat(r.perTryTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(r.retriableStatusCodes()).containsExactly(418);
    assertThat(r.maxInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(r.previousHostsPredicate()).isTrue();
    assertThat(r.hostSelectionRetryMaxAttempts()).isEqualTo(5);
    assertThat(route(s, 1).highPriority()).isTrue();
  }

  @Test
  void clusterCircuitBreakersAndOutlierDetectionKeepEnvoyDefaultsForUnsetFields() throws Exception {
    String yaml = edit(BASE, "    lb_policy: ROUND_ROBIN\n", """
            lb_policy: ROUND_ROBIN
            circuit_breakers:
              thresholds:
              - { max_connections: 10, max_requests: 20 }
              - { priority: HIGH, max_retries: 7, retry_budget: {} }
            outlier_detection:
              consecutive_5xx: 2
              interval: 1s
              max_ejection_percent: 50
        """);
    ClusterConfig c = BootstrapLoader.fromYaml(yaml, "config.yaml").cluster("backend");
    assertThat(c.circuitBreakers().defaultPriority()).isEqualTo(new CircuitBreakerConfig.Thresholds(10, 1024, 20, 3, null));
    assertThat(c.circuitBreakers().high()).isEqualTo(
        new CircuitBreakerConfig.Thresholds(1024, 1024, 1024, 7, CircuitBreakerConfig.RetryBudget.DEFAULTS));
    OutlierDetectionConfig o = c.outlierDetection();
    assertThat(o.consecutive5xx()).isEqualTo(2);
    assertThat(o.interval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(o.maxEjectionPercent()).isEqualTo(50);
    assertThat(o.baseEjectionTime()).isEqualTo(Duration.ofSeconds(30));
    assertThat(o.successRateStdevFactor()).isEqualTo(1.9);
  }

  /** istiod's default thresholds on every cluster (getDefaultCircuitBreakerThresholds): uint32 max means no limit. */
  @Test
  void istiodsUint32MaxThresholdsAreAcceptedAsNoLimit() throws Exception {
    String yaml = edit(BASE, "    lb_policy: ROUND_ROBIN\n", """
            lb_policy: ROUND_ROBIN
            circuit_breakers:
              thresholds:
              - max_connections: 4294967295
                max_pending_requests: 4294967295
                max_requests: 4294967295
                max_retries: 4294967295
                track_remaining: true
        """);
    ClusterConfig c = BootstrapLoader.fromYaml(yaml, "config.yaml").cluster("backend");
    int max = Integer.MAX_VALUE;
    assertThat(c.circuitBreakers().defaultPriority()).isEqualTo(new CircuitBreakerConfig.Thresholds(max, max, max, max, null));
  }

  @Test
  void aClusterWithoutThemGetsDefaultBreakersAndNoDetection() throws Exception {
    ClusterConfig c = BootstrapLoader.fromYaml(BASE, "config.yaml").cluster("backend");
    assertThat(c.circuitBreakers()).isEqualTo(CircuitBreakerConfig.DEFAULTS);
    assertThat(c.outlierDetection()).isNull();
  }

  @Test
  void badValuesAreNamedByPath() {
    String yaml = edit(BASE, "    lb_policy: ROUND_ROBIN\n", """
            lb_policy: ROUND_ROBIN
            circuit_breakers:
              per_host_thresholds: [{ max_connections: 1 }]
            outlier_detection:
              max_ejection_percent: 150
              split_external_local_origin_errors: true
              enforcing_local_origin_success_rate: 50
        """);
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
      throw new AssertionError("accepted");
    } catch (ConfigException e) {
      assertThat(e.problems()).anySatisfy(p -> assertThat(p).contains("static_resources.clusters[0].circuit_breakers.per_host_thresholds"));
      assertThat(e.problems()).anySatisfy(p -> assertThat(p).contains("outlier_detection.enforcing_local_origin_success_rate"));
    }
  }
}
