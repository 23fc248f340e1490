package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.inbound;
import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A VirtualService {@code mirror} in the default secure mesh: sidecars with identities from the mesh CA,
 * PeerAuthentication STRICT everywhere. The caller's copy to the shadow service goes out over the same
 * mTLS as its main requests (the shadow cluster's SDS certificates and SPIFFE SAN check), so the shadow's
 * STRICT sidecar accepts it and the shadow app receives it, while the client sees the primary's answer.
 */
class SidecarMirrorMtlsTest {
  private static final String SERVICES = SidecarMtlsTest.SERVICES + """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-shadow }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: istio-system }
      spec: { mtls: { mode: STRICT } }
      ---
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

  @Test
  void aMirrorToAStrictMtlsShadowServiceReachesTheShadowsApp() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        TestUpstream shadowApp = new TestUpstream("shadow-app");
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar shadow = secureSidecar(cp, "product-shadow", "product-shadow", shadowApp.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> !inbound(shadow).plaintextToo() && !inbound(product).plaintextToo()
          && web.xds().lastSnapshot().clusters().get("product-shadow") != null
          && web.xds().lastSnapshot().clusters().get("product-shadow").tls() != null
          && !web.xds().lastSnapshot().clusters().get("product-shadow").endpoints().isEmpty()
          && served(outbound, "product-service").equals("product-v1"));
      int before = shadowApp.requests.get(); // a copy of the readiness probe above may already be in

      try (RawHttp http = new RawHttp(outbound)) {
        for (int i = 0; i < 3; i++) {
          RawHttp.Response r = http.send("GET /items/" + i + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.header("x-served-by")).isEqualTo("product-v1");
        }
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> shadowApp.requests.get() >= before + 3);
      assertThat(shadowApp.requestLines).contains("GET /items/2 HTTP/1.1");
      assertThat(shadowApp.lastHeaders.get("host")).isEqualTo("product-service-shadow");
      // The shadow's sidecar saw the caller's verified identity: the copy came over mTLS.
      assertThat(shadowApp.lastHeaders.get("x-forwarded-client-cert")).contains("URI=spiffe://cluster.local/ns/default/sa/web");
      var stats = web.server().stats();
      assertThat(stats.tls("cluster.product-shadow").handshake.sum()).as("mTLS handshakes to the shadow").isPositive();
      assertThat(stats.counter("cluster.product-shadow.mirror_rq_failed").sum()).isZero();
    }
  }
}
