package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.config.RouteAction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio and Gateway API resilience fields to Envoy resources, checked twice: the Envoy fields as Istio
 * would set them, and the data plane's own translation of those resources (so the control plane never
 * sends what a Keelson proxy would NACK).
 */
class ResilienceTranslationTest {
  private static final String REGISTRY = Mesh.registry(9001, 9002);

  private static MeshResources translate(String yaml) throws Exception {
    return Mesh.translateWithRegistry(yaml);
  }

  private static ProxySnapshot dataPlane(MeshResources r) throws Exception {
    return Mesh.dataPlane(r);
  }

  private static Cluster cluster(MeshResources r, String name) {
    return Mesh.cluster(r, name);
  }

  private static Route firstRoute(MeshResources r) {
    return r.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().startsWith("product-service")).findFirst().orElseThrow().getRoutes(0);
  }

  private static RouteAction.Forward forward(ProxySnapshot s) {
    var l = s.listeners().stream().filter(x -> x.http() != null).findFirst().orElseThrow();
    var vh = l.http().routeConfig().virtualHosts().stream()
        .filter(v -> v.name().startsWith("product-service")).findFirst().orElseThrow();
    return (RouteAction.Forward) vh.routes().getFirst().action();
  }

  @Test
  void virtualServiceRetriesAndTimeoutBecomeARouteRetryPolicy() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product }
        spec:
          hosts: [ product-service ]
          http:
          - route: [ { destination: { host: product-service } } ]
            timeout: 3s
            retries: { attempts: 3, perTryTimeout: 500ms, retryOn: "gateway-error,reset,503" }
        """);
    var envoy = firstRoute(r).getRoute();
    assertThat(envoy.getTimeout().getSeconds()).isEqualTo(3);
    assertThat(envoy.getRetryPolicy().getRetryOn()).isEqualTo("gateway-error,reset,retriable-status-codes");
    assertThat(envoy.getRetryPolicy().getNumRetries().getValue()).isEqualTo(3);
    assertThat(envoy.getRetryPolicy().getRetriableStatusCodesList()).containsExactly(503);
    assertThat(envoy.getRetryPolicy().getRetryHostPredicate(0).getName()).isEqualTo("envoy.retry_host_predicates.previous_hosts");

    RetryPolicy p = forward(dataPlane(r)).retryPolicy();
    assertThat(p.numRetries()).isEqualTo(3);
    assertThat(p.perTryTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(p.retryOn()).isEqualTo(RetryPolicy.RETRY_ON_GATEWAY_ERROR | RetryPolicy.RETRY_ON_RESET
        | RetryPolicy.RETRY_ON_RETRIABLE_STATUS_CODES);
    assertThat(p.previousHostsPredicate()).isTrue();

    assertThat(r.routes().getFirst().getVirtualHostsList()).as("every virtual host, as istiod")
        .allMatch(vh -> vh.getIncludeRequestAttemptCount());
    var l = dataPlane(r).listeners().stream().filter(x -> x.http() != null).findFirst().orElseThrow();
    assertThat(l.http().routeConfig().virtualHosts()).as("read by the data plane")
        .allMatch(vh -> vh.includeRequestAttemptCount());
  }

  @Test
  void istioDefaultRetryOnIsUsedWhenRetryOnIsUnset() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product }
        spec:
          hosts: [ product-service ]
          http:
          - route: [ { destination: { host: product-service } } ]
            retries: { attempts: 2 }
        """);
    assertThat(firstRoute(r).getRoute().getRetryPolicy().getRetryOn())
        .isEqualTo("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
    assertThat(forward(dataPlane(r)).retryPolicy().numRetries()).isEqualTo(2);
  }

  @Test
  void destinationRuleConnectionPoolAndOutlierDetectionBecomeBreakersAndDetection() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy:
            connectionPool:
              tcp: { maxConnections: 100, connectTimeout: 250ms, maxConnectionDuration: 10m, tcpKeepalive: { time: 60s, interval: 10s, probes: 4 } }
              http: { http1MaxPendingRequests: 10, http2MaxRequests: 200, maxRetries: 4, idleTimeout: 30s, maxRequestsPerConnection: 3 }
            outlierDetection:
              consecutive5xxErrors: 7
              consecutiveGatewayErrors: 3
              interval: 5s
              baseEjectionTime: 15s
              maxEjectionPercent: 30
          subsets:
          - { name: v1, labels: { version: v1 } }
        """);
    Cluster c = cluster(r, "product-service");
    var t = c.getCircuitBreakers().getThresholds(0);
    assertThat(t.getMaxConnections().getValue()).isEqualTo(100);
    assertThat(t.getMaxPendingRequests().getValue()).isEqualTo(10);
    assertThat(t.getMaxRequests().getValue()).isEqualTo(200);
    assertThat(t.getMaxRetries().getValue()).isEqualTo(4);
    assertThat(c.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(7);
    assertThat(c.getOutlierDetection().getEnforcingConsecutiveGatewayFailure().getValue()).isEqualTo(100);
    assertThat(cluster(r, "product-service|v1").getCircuitBreakers().getThresholds(0).getMaxRetries().getValue())
        .as("subsets inherit the top-level policy").isEqualTo(4);

    var dp = dataPlane(r).cluster("product-service");
    assertThat(dp.circuitBreakers().defaultPriority().maxConnections()).isEqualTo(100);
    assertThat(dp.circuitBreakers().defaultPriority().maxPendingRequests()).isEqualTo(10);
    assertThat(dp.circuitBreakers().defaultPriority().maxRequests()).isEqualTo(200);
    assertThat(dp.circuitBreakers().defaultPriority().maxRetries()).isEqualTo(4);
    assertThat(dp.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.getConnectTimeout().getNanos()).isEqualTo(250_000_000);
    assertThat(dp.connectTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(dp.maxConnectionDuration()).isEqualTo(Duration.ofMinutes(10));
    assertThat(dp.maxRequestsPerConnection()).isEqualTo(3);
    assertThat(c.getUpstreamConnectionOptions().getTcpKeepalive().getKeepaliveTime().getValue()).isEqualTo(60);
    assertThat(dp.tcpKeepalive()).isEqualTo(new io.keelson.dataplane.config.TcpKeepalive(4, 60, 10));
    assertThat(dataPlane(r).cluster("product-service|v1").connectTimeout()).as("subsets too")
        .isEqualTo(Duration.ofMillis(250));
    assertThat(dp.outlierDetection().consecutive5xx()).isEqualTo(7);
    assertThat(t.getTrackRemaining()).isTrue();
    assertThat(dp.outlierDetection().consecutiveGatewayFailure()).isEqualTo(3);
    assertThat(dp.outlierDetection().interval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(dp.outlierDetection().baseEjectionTime()).isEqualTo(Duration.ofSeconds(15));
    assertThat(dp.outlierDetection().maxEjectionPercent()).isEqualTo(30);
    assertThat(dp.outlierDetection().enforcingSuccessRate()).as("off, as Istio sets it").isZero();
  }

  /**
   * istiod's default thresholds on a cluster without a DestinationRule (and under one that sets only some limits):
   * 4294967295 for each, not Envoy's 1024/1024/1024/3; the data plane takes them as no limit.
   */
  @Test
  void clustersGetIstiodsUnlimitedDefaultThresholdsUnderWhatADestinationRuleSets() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy:
            connectionPool:
              tcp: { maxConnections: 100 }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: web }
        spec: { ports: [ { name: http, port: 80 } ] }
        """);
    var t = cluster(r, "product-service").getCircuitBreakers().getThresholds(0);
    assertThat(Integer.toUnsignedLong(t.getMaxConnections().getValue())).isEqualTo(100);
    assertThat(Integer.toUnsignedLong(t.getMaxRetries().getValue())).isEqualTo(4294967295L);
    var untouched = cluster(r, "web").getCircuitBreakers().getThresholds(0);
    for (var limit : List.of(untouched.getMaxConnections(), untouched.getMaxPendingRequests(), untouched.getMaxRequests(),
        untouched.getMaxRetries())) {
      assertThat(Integer.toUnsignedLong(limit.getValue())).isEqualTo(4294967295L);
    }
    assertThat(untouched.getTrackRemaining()).isTrue();
    var dp = dataPlane(r);
    assertThat(dp.cluster("web").circuitBreakers().defaultPriority())
        .isEqualTo(new io.keelson.dataplane.config.CircuitBreakerConfig.Thresholds(Integer.MAX_VALUE, Integer.MAX_VALUE,
            Integer.MAX_VALUE, Integer.MAX_VALUE, null));
    assertThat(dp.cluster("product-service").circuitBreakers().defaultPriority().maxConnections()).isEqualTo(100);
    assertThat(dp.cluster("product-service").circuitBreakers().defaultPriority().maxRequests()).isEqualTo(Integer.MAX_VALUE);
    // Proxyless gRPC clients get only the rule's limits, as istiod's grpcgen: grpc-java reads max_requests as a
    // signed int, so 4294967295 would refuse every call (GrpcXdsInteropTest caught it).
    List<Policy> all = new ArrayList<>(PolicyParser.parse("registry.yaml", REGISTRY).policies());
    all.addAll(PolicyParser.parse("policy.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: web }
        spec: { ports: [ { name: http, port: 80 } ] }
        """).policies());
    MeshResources proxyless = new MeshTranslator(15001, true).translate(PolicySet.EMPTY.with(all), List.of());
    assertThat(cluster(proxyless, "web").hasCircuitBreakers()).isFalse();
  }

  @Test
  void httpRouteTimeoutsAndRetryBecomeRouteTimeoutPerTryTimeoutAndRetriableCodes() throws Exception {
    MeshResources r = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: product }
        spec:
          parentRefs: [ { group: "", kind: Service, name: product-service, port: 80 } ]
          rules:
          - backendRefs: [ { name: product-service, port: 80 } ]
            timeouts: { request: 10s, backendRequest: 2s }
            retry: { attempts: 2, backoff: 100ms, codes: [ 502, 503 ] }
        """);
    var envoy = firstRoute(r).getRoute();
    assertThat(envoy.getTimeout().getSeconds()).isEqualTo(10);
    assertThat(envoy.getRetryPolicy().getPerTryTimeout().getSeconds()).isEqualTo(2);
    assertThat(envoy.getRetryPolicy().getRetriableStatusCodesList()).containsExactly(502, 503);

    RouteAction.Forward f = forward(dataPlane(r));
    assertThat(f.timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(f.retryPolicy().numRetries()).isEqualTo(2);
    assertThat(f.retryPolicy().perTryTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(f.retryPolicy().baseInterval()).isEqualTo(Duration.ofMillis(100));
    assertThat(f.retryPolicy().isRetriableStatusCode(503)).isTrue();
    assertThat(f.retryPolicy().retryOn() & RetryPolicy.RETRY_ON_CONNECT_FAILURE).isNotZero();
  }

  @Test
  void aBackendRequestTimeoutAloneIsAPerTryTimeoutWithoutRetries() throws Exception {
    MeshResources r = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: product }
        spec:
          parentRefs: [ { group: "", kind: Service, name: product-service, port: 80 } ]
          rules:
          - backendRefs: [ { name: product-service, port: 80 } ]
            timeouts: { backendRequest: 1s }
        """);
    RouteAction.Forward f = forward(dataPlane(r));
    assertThat(f.retryPolicy().numRetries()).isZero();
    assertThat(f.retryPolicy().perTryTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void splitLocalOriginErrorsBecomeEnvoysLocalOriginDetection() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy:
            outlierDetection: { consecutive5xxErrors: 0, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3 }
        """);
    var od = Mesh.cluster(r, "product-service").getOutlierDetection();
    assertThat(od.getSplitExternalLocalOriginErrors()).isTrue();
    assertThat(od.getConsecutiveLocalOriginFailure().getValue()).isEqualTo(3);
    assertThat(od.getEnforcingConsecutiveLocalOriginFailure().getValue()).isEqualTo(100);
    assertThat(od.getEnforcingConsecutive5Xx().getValue()).isZero();
    var detection = Mesh.dataPlane(r).cluster("product-service").outlierDetection();
    assertThat(detection.splitExternalLocalOriginErrors()).isTrue();
    assertThat(detection.consecutiveLocalOriginFailure()).isEqualTo(3);

    var parsed = io.keelson.control.policy.PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy: { outlierDetection: { consecutiveLocalOriginFailures: 3 } }
        """);
    assertThat(parsed.warnings()).singleElement().extracting(Object::toString).asString()
        .contains("spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures")
        .contains("takes effect only with splitExternalLocalOriginErrors: true");
  }

  /** As istiod: consecutiveLocalOriginFailures 0 sets nothing, so Envoy's default (5, enforced) stays. */
  @Test
  void zeroLocalOriginFailuresLeavesEnvoysDefault() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy:
            outlierDetection: { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 0 }
        """);
    var od = Mesh.cluster(r, "product-service").getOutlierDetection();
    assertThat(od.getSplitExternalLocalOriginErrors()).isTrue();
    assertThat(od.hasConsecutiveLocalOriginFailure()).as("unset: Envoy's default").isFalse();
    assertThat(od.hasEnforcingConsecutiveLocalOriginFailure()).isFalse();
    var detection = Mesh.dataPlane(r).cluster("product-service").outlierDetection();
    assertThat(detection.consecutiveLocalOriginFailure()).as("Envoy's default").isEqualTo(5);
  }
}
