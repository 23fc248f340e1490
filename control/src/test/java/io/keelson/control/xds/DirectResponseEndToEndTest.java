package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
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
    try (TestUpstream app = new TestUpstream("v1"); SidecarOverAds sidecar = new SidecarOverAds("direct-sidecar")) {
      sidecar.apply(Mesh.registry(app.port(), app.port()) + "---\n" + VIRTUAL_SERVICE);
      sidecar.awaitServing("product-service", "/items");
      int port = sidecar.port();
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
