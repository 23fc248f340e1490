package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A real proxy fed by the xDS client from a java-control-plane server, forwarding to real upstreams
 * while the control plane shifts the route's weights: every request succeeds, and traffic follows.
 */
class XdsProxyEndToEndTest {

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void shiftsTrafficBetweenVersionsWhileRequestsFlowWithoutAFailedRequest(boolean delta) throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port()) + cluster("v2", "ROUND_ROBIN", v2.port())),
            PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.start(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), delta, Node.newBuilder().setId("e2e").build()),
            proxy.server::update)) {

      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger failures = new AtomicInteger();
      AtomicReference<String> firstFailure = new AtomicReference<>();
      ConcurrentHashMap<String, AtomicInteger> byUpstream = new ConcurrentHashMap<>();
      Thread load = Thread.ofVirtual().start(() -> {
        while (running.get()) {
          try {
            HttpResponse<String> r = proxy.get("/");
            if (r.statusCode() != 200) {
              failures.incrementAndGet();
              firstFailure.compareAndSet(null, "status " + r.statusCode() + ": " + r.body());
            } else {
              byUpstream.computeIfAbsent(r.headers().firstValue("x-upstream").orElse("?"), k -> new AtomicInteger())
                  .incrementAndGet();
            }
          } catch (Exception e) {
            failures.incrementAndGet();
            firstFailure.compareAndSet(null, e.toString());
          }
        }
      });

      int[][] steps = {{90, 10}, {50, 50}, {10, 90}, {1, 99}};
      for (int i = 0; i < steps.length; i++) {
        String version = String.valueOf(i + 1);
        controlPlane.set(snapshot(version,
            List.of(edsCluster("v1"), edsCluster("v2")),
            List.of(endpoints("v1", v1.port(), 1), endpoints("v2", v2.port(), 1)),
            List.of(listener(0)),
            List.of(route("v1", String.valueOf(steps[i][0]), "v2", String.valueOf(steps[i][1])))));
        await().atMost(Duration.ofSeconds(5)).until(() -> client.lastSnapshot() != null
            && client.lastSnapshot().version().contains("RDS=" + version));
        int before = v1.requests.get() + v2.requests.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> v1.requests.get() + v2.requests.get() >= before + 50);
      }
      // The last step sends 99% to v2: measure it on its own.
      byUpstream.clear();
      await().atMost(Duration.ofSeconds(5)).until(() -> byUpstream.values().stream().mapToInt(AtomicInteger::get).sum() >= 200);
      running.set(false);
      load.join(10_000);

      assertThat(failures.get()).as("failed requests (first: %s)", firstFailure.get()).isZero();
      int toV2 = byUpstream.getOrDefault("v2", new AtomicInteger()).get();
      int total = byUpstream.values().stream().mapToInt(AtomicInteger::get).sum();
      assertThat(toV2).as("requests to v2 of %d after the 1/99 split", total).isGreaterThan(total * 9 / 10);
      assertThat(client.stats().rejected(ResourceType.ROUTE)).isZero();
    }
  }
}
