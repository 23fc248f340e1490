package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gateway API RequestMirror and Istio mirror through Keelson's control plane into a real proxy: the
 * shadow service's workload sees each request with the {@code -shadow} authority while the client
 * sees only the primary's answer.
 */
class MirrorEndToEndTest {
  private static final String REGISTRY = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-v1 }
      spec: { service: product-service, address: 127.0.0.1, port: %d, labels: { version: v1 } }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-shadow }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-shadow-1 }
      spec: { service: product-shadow, address: 127.0.0.1, port: %d, labels: { version: next } }
      """;

  private static final String HTTP_ROUTE = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: product }
      spec:
        parentRefs: [ { kind: Service, group: "", name: product-service } ]
        rules:
        - backendRefs: [ { name: product-service, port: 80 } ]
          filters: [ { type: RequestMirror, requestMirror: { backendRef: { name: product-shadow, port: 80 } } } ]
      """;

  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - route: [ { destination: { host: product-service } } ]
          mirror: { host: product-shadow }
          mirrorPercentage: { value: 100.0 }
      """;

  @ParameterizedTest(name = "istio={0}")
  @ValueSource(booleans = {false, true})
  void theShadowServiceGetsACopyAndTheClientTheAnswer(boolean istio) throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream shadow = new TestUpstream("shadow");
        SidecarOverAds sidecar = new SidecarOverAds("mirror-sidecar")) {
      sidecar.apply(REGISTRY.formatted(v1.port(), shadow.port()) + "---\n" + (istio ? VIRTUAL_SERVICE : HTTP_ROUTE));

      try (RawHttp http = new RawHttp(sidecar.port())) {
        for (int i = 0; i < 3; i++) {
          RawHttp.Response r = http.send("GET /items/" + i + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.header("x-upstream")).isEqualTo("v1");
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 3);
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("product-service-shadow");
      assertThat(shadow.requestLines).allMatch(l -> l.startsWith("GET /items/"));
      assertThat(v1.requests.get()).isEqualTo(3);
    }
  }

  private static final String IDLE = """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-idle }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: product-idle-1 }
      spec: { service: product-idle, address: 127.0.0.1, port: %d }
      """;

  private static final String SEVERAL_MIRRORS = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - route: [ { destination: { host: product-service } } ]
          mirrors:
          - destination: { host: product-shadow }
            percentage: { value: 100.0 }
          - destination: { host: product-idle }
            percentage: { value: 0 }
      """;

  @Test
  void eachOfSeveralMirrorsGetsItsShareOfCopies() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream shadow = new TestUpstream("shadow");
        TestUpstream idle = new TestUpstream("idle");
        SidecarOverAds sidecar = new SidecarOverAds("mirrors-sidecar")) {
      sidecar.apply(REGISTRY.formatted(v1.port(), shadow.port()) + IDLE.formatted(idle.port()) + "---\n" + SEVERAL_MIRRORS);

      try (RawHttp http = new RawHttp(sidecar.port())) {
        for (int i = 0; i < 5; i++) {
          RawHttp.Response r = http.send("GET /items/" + i + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.header("x-upstream")).isEqualTo("v1");
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> shadow.requests.get() == 5);
      assertThat(shadow.lastHeaders.get("host")).isEqualTo("product-service-shadow");
      // the copies to both shadows leave together; give a wrongly sent 0% copy ample time to land
      Thread.sleep(1000);
      assertThat(idle.requests.get()).as("a mirror at 0 percent receives no copy").isZero();
      assertThat(v1.requests.get()).isEqualTo(5);
    }
  }
}
