package io.keelson.control.sidecar;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.Locality;
import io.keelson.dataplane.server.ProxyOptions;
import java.time.Duration;
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
      PreferCloseEndToEndTest.staysNearThenFailsOver(cp, client, onNode(cp, "reviews", two.port(), "node-2"), node1,
          "trafficDistribution: PreferSameNode, ", "reviews-node2", "reviews-node1");
    }
  }
}
