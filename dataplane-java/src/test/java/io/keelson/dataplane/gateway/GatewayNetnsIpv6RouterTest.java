package io.keelson.dataplane.gateway;

import static io.keelson.dataplane.gateway.NetnsTopology.NAMES;
import static io.keelson.dataplane.gateway.NetnsTopology.ROUTED_BACKENDS6;
import static io.keelson.dataplane.gateway.NetnsTopology.VIP6;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.internal.ffm.TestEal;
import io.keelson.testkit.Shell;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway with an IPv6 VIP whose backends are off-link: a router namespace (kernel forwarding) sits between
 * the gateway's inside link and the backends' subnet, and the gateway reaches them through its IPv6 default
 * gateway ({@code --port-ip6 inside=ADDR/LEN via ROUTER}), resolved by Neighbor Discovery; the router resolves the
 * gateway's SNAT address the same way for the answers. Needs what {@link GatewayNetnsTest} needs.
 */
class GatewayNetnsIpv6RouterTest {
  private static NetnsTopology topo;
  private static String skipReason;

  @BeforeAll
  static void topology() throws IOException {
    skipReason = GatewayNetnsTestSupport.skipReason();
    if (skipReason != null) {
      return;
    }
    topo = new NetnsTopology(true, true);
    for (String ip : ROUTED_BACKENDS6) {
      await("backend " + ip + " listening").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
          .until(() -> Shell.run(Shell.in(topo.backend, "curl", "-6", "-s", "--max-time", "1",
              "http://[" + ip + "]:8080/who.txt"), 5).exit() == 0);
    }
  }

  @BeforeEach
  void requireTopology() {
    TestEal.skipUnless(skipReason == null, String.valueOf(skipReason));
  }

  @AfterAll
  static void teardown() {
    if (topo != null) {
      topo.close();
    }
  }

  @Test
  void curlReachesBackendsBehindARouterThroughTheIpv6DefaultGateway() throws Exception {
    try (GatewayProcess gw = new GatewayProcess(topo, topo.writeBootstrapFor(VIP6, ROUTED_BACKENDS6), "inline", List.of(
        "--port-ip6", "outside=" + NetnsTopology.GATEWAY_OUTSIDE6 + "/64",
        "--port-ip6", "inside=" + NetnsTopology.GATEWAY_INSIDE6 + "/64 via " + NetnsTopology.ROUTER_INSIDE6,
        "--snat", NetnsTopology.SNAT6))) {
      // The first SYN may be dropped while the gateway resolves the router; curl's connect retransmits it.
      String out = Shell.okIn(topo.client, "sh", "-c", "for p in $(seq 47000 47015); do printf '%s ' $p; "
          + "curl -6 -s --max-time 4 --local-port $p 'http://[" + VIP6 + "]/who.txt' || echo FAILED; done");
      Set<String> seen = new HashSet<>();
      for (String line : out.trim().split("\n")) {
        String[] parts = line.trim().split("\\s+");
        assertThat(parts).as("curl from port " + parts[0] + " in:\n" + out).hasSize(2);
        assertThat(parts[1]).as("port " + parts[0]).isIn((Object[]) NAMES);
        seen.add(parts[1]);
      }
      assertThat(seen).containsExactlyInAnyOrder(NAMES);
      // The router learnt the gateway's SNAT address from the gateway's Neighbor Advertisement.
      assertThat(Shell.okIn(topo.router, "ip", "-6", "neigh", "show", NetnsTopology.SNAT6, "dev", "r0"))
          .contains("lladdr");
      assertThat(gw.drops("no_route")).isZero();
      assertThat(gw.isAlive()).isTrue();
    }
  }
}
