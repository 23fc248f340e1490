package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Istio {@code directResponse} through Keelson's control plane into a real proxy over ADS: the sidecar answers
 * the matching requests itself, with the rule's status and body, and the app never sees them; the other
 * rules still reach the app.
 */
class DirectResponseEndToEndTest {
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - match: [ { uri: { prefix: /teapot } } ]
          directResponse: { status: 418, body: { string: "short and stout" } }
        - match: [ { uri: { prefix: /raw } } ]
          directResponse: { status: 503, body: { bytes: "bWFpbnRlbmFuY2U=" } }
        - route: [ { destination: { host: product-service } } ]
      """;

  @Test
  void theSidecarAnswersDirectResponsesWithoutReachingTheApp() throws Exception {
    PolicyStore store = new PolicyStore();
    try (TestUpstream app = new TestUpstream("v1");
        ProxyHarness proxy = new ProxyHarness(OutboundBootstrap.BOOTSTRAP, PipelineMode.INLINE);
        XdsServer xds = new XdsServer(store, proxy.server.listenerAddress("outbound").getPort()).start("127.0.0.1", 0);
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", xds.port(), false, Node.newBuilder().setId("direct-sidecar").build()),
            proxy.server::install)) {
      store.apply(PolicyParser.parse("mesh.yaml", Mesh.registry(app.port(), app.port()) + "---\n" + VIRTUAL_SERVICE)
          .policies(), false);
      MeshResources want = xds.current();
      await().atMost(Duration.ofSeconds(20)).until(() -> client.lastSnapshot() != null
          && client.lastSnapshot().version().contains("RDS=" + want.routesVersion()));
      int port = proxy.server.listenerAddress("outbound").getPort();
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        try (RawHttp http = new RawHttp(port)) {
          return http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n\r\n").read().status() == 200;
        }
      });
      int before = app.requests.get();
      try (RawHttp http = new RawHttp(port)) {
        for (int i = 0; i < 3; i++) {
          RawHttp.Response r = http.send("GET /teapot/" + i + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(418);
          assertThat(r.body()).isEqualTo("short and stout");
        }
        RawHttp.Response raw = http.send("GET /raw HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
        assertThat(raw.status()).isEqualTo(503);
        assertThat(raw.body()).isEqualTo("maintenance");
      }
      assertThat(app.requests.get()).as("direct responses never reach the app").isEqualTo(before);
      try (RawHttp http = new RawHttp(port)) {
        RawHttp.Response rest = http.send("GET /other HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
        assertThat(rest.status()).isEqualTo(200);
        assertThat(rest.header("x-upstream")).isEqualTo("v1");
      }
      assertThat(app.requests.get()).isEqualTo(before + 1);
    }
  }
}
