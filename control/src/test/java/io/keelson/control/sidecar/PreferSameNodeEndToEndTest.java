package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.LocalityEndToEndTest.apply;
import static io.keelson.control.sidecar.SidecarEndToEndTest.servedBy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.Locality;
import io.keelson.dataplane.server.ProxyOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A Service's {@code trafficDistribution: PreferSameNode} through real sidecars, without any DestinationRule: two
 * reviews instances in one zone on Kubernetes nodes node-1 and node-2 (their sidecars' label
 * {@code kubernetes.io/hostname}, as {@code bin/keelson proxy --labels} sets it), called by a client sidecar on node-2.
 * Before the field both take calls; with it every call stays on node-2; when node-2's instance goes away the calls go to
 * node-1's, the same zone's.
 */
class PreferSameNodeEndToEndTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec: { %sports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  private static Sidecar onNode(ControlPlane cp, String service, int appPort, String node) throws Exception {
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), service,
        Map.of(Locality.HOSTNAME, node), appPort, 0, 0, "127.0.0.1", 0).withLocality(Locality.parse("r1/a"));
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500));
  }

  @Test
  void callsStayOnTheCallersNodeWhileItHasAnInstanceThenGoToItsZone() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService one = new SampleService("reviews", "node1").start("127.0.0.1", 0);
        SampleService two = new SampleService("reviews", "node2").start("127.0.0.1", 0);
        Sidecar node1 = onNode(cp, "reviews", one.port(), "node-1");
        Sidecar client = onNode(cp, "frontend", 1, "node-2")) {
      int outbound = client.outboundAddress().getPort();
      Sidecar node2 = onNode(cp, "reviews", two.port(), "node-2");
      try {
        apply(cp, MESH.formatted(""));
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().keySet()
            .containsAll(List.of(node1.nodeId(), node2.nodeId())));
        // Without it (and without outlierDetection): one priority, both nodes take calls.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
            .until(() -> servedBy(outbound, "reviews", 30).keySet().size() == 2);

        apply(cp, MESH.formatted("trafficDistribution: PreferSameNode, "));
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
            .until(() -> servedBy(outbound, "reviews", 30).equals(Map.of("reviews-node2", 30)));
        assertThat(servedBy(outbound, "reviews", 100)).isEqualTo(Map.of("reviews-node2", 100));
      } finally {
        node2.close();
      }
      // node-2's instance is gone: node-1's, in the caller's zone, is the closest left.
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> servedBy(outbound, "reviews", 10).equals(Map.of("reviews-node1", 10)));
      assertThat(servedBy(outbound, "reviews", 50)).isEqualTo(Map.of("reviews-node1", 50));
    }
  }
}
