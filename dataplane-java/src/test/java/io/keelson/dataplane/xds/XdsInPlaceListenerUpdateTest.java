package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.address;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Listener updates over xDS, as Envoy tells them apart, seen on an open keep-alive connection: a re-push of the
 * same Listener message and a route config changed over RDS keep the connection (its next request follows the
 * new routes, with no {@code connection: close}); a changed Listener message (the same name and address) drains
 * it, and new connections get the new listener.
 */
class XdsInPlaceListenerUpdateTest {
  private static final String REQUEST = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";

  @Test
  void onlyAChangedListenerMessageDrainsTheListenersConnections() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), false, Node.newBuilder().setId("lds").build()),
            proxy.server::install)) {
      Listener extra = listener(0).toBuilder().setName("extra").setAddress(address("127.0.0.1", 0)).build();
      push(controlPlane, client, "1", v1, v2, route("v1", "1"), listener(proxy.port()), extra);
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server.boundListeners().containsKey("extra"));
      int port = proxy.server.boundListeners().get("extra").getPort();
      Listener extraAtItsPort = extra.toBuilder().setAddress(address("127.0.0.1", port)).build();

      try (RawHttp c = new RawHttp(port)) {
        assertServed(c, "v1", "before any update");
        push(controlPlane, client, "2", v1, v2, route("v1", "1"), listener(proxy.port()), extraAtItsPort);
        assertServed(c, "v1", "the same listener pushed again, with the port it got");
        push(controlPlane, client, "3", v1, v2, route("v2", "1"), listener(proxy.port()), extraAtItsPort);
        assertServed(c, "v2", "a route config changed over RDS");

        Listener changed = withHcmStatPrefix(extraAtItsPort, "changed_http"); // a connection manager setting
        push(controlPlane, client, "4", v1, v2, route("v2", "1"), listener(proxy.port()), changed);
        assertThat(c.closedByPeer(10_000)).as("the changed listener's idle keep-alive connection is drained").isTrue();
      }
      assertThat(proxy.server.boundListeners().get("extra").getPort()).as("the same socket").isEqualTo(port);
      try (RawHttp fresh = new RawHttp(port)) {
        assertServed(fresh, "v2", "a new connection to the changed listener");
      }
    }
  }

  /** Asserts that a request on {@code c} is served by {@code upstream} and leaves the connection open. */
  private static void assertServed(RawHttp c, String upstream, String when) throws Exception {
    RawHttp.Response r = c.send(REQUEST).read();
    assertThat(r.status()).as(when + ": " + r.body()).isEqualTo(200);
    assertThat(r.header("x-upstream")).as(when).isEqualTo(upstream);
    assertThat(r.header("connection")).as(when + ": not drained").isNotEqualTo("close");
  }

  /** {@code l} with its connection manager's stat_prefix set to {@code prefix}. */
  private static Listener withHcmStatPrefix(Listener l, String prefix) throws Exception {
    var filter = l.getFilterChains(0).getFilters(0);
    var hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class).toBuilder().setStatPrefix(prefix).build();
    var chain = l.getFilterChains(0).toBuilder().setFilters(0, filter.toBuilder().setTypedConfig(Any.pack(hcm)));
    return l.toBuilder().setFilterChains(0, chain).build();
  }

  private static void push(JavaControlPlane cp, XdsClient client, String version, TestUpstream v1, TestUpstream v2,
      RouteConfiguration route, Listener... listeners) {
    cp.set(snapshot(version, List.of(edsCluster("v1"), edsCluster("v2")),
        List.of(endpoints("v1", v1.port(), 1), endpoints("v2", v2.port(), 1)), List.of(listeners), List.of(route)));
    await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
        && client.lastSnapshot().version().contains("LDS=" + version));
  }
}
