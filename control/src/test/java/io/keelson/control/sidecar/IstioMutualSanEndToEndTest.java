package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.LocalityEndToEndTest.apply;
import static io.keelson.control.sidecar.SidecarMtlsTest.PRODUCT;
import static io.keelson.control.sidecar.SidecarMtlsTest.SERVICES;
import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule {@code tls: {mode: ISTIO_MUTUAL, sni, subjectAltNames}} through real sidecars with mesh
 * identities: naming a SPIFFE ID the destination's certificate does not carry fails the call (503, the caller's
 * cluster counting a SAN verification failure); naming the destination's own identity serves it again.
 */
class IstioMutualSanEndToEndTest {
  private static final String RULE = """
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: product-service }
      spec:
        host: product-service
        trafficPolicy:
          tls: { mode: ISTIO_MUTUAL, sni: product.mesh.internal, subjectAltNames: [ "%s" ] }
      """;

  @Test
  void subjectAltNamesTheServerDoesNotHaveFailTheCallAndItsOwnIdentityServes() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      int outbound = web.outboundAddress().getPort();
      apply(cp, SERVICES);
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));

      apply(cp, SERVICES + RULE.formatted("spiffe://cluster.local/ns/default/sa/someone-else"));
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("status 503"));
      var tls = web.server().stats().tls("cluster.product-service");
      long before = tls.failVerifySan.sum();
      assertThat(served(outbound, "product-service")).isEqualTo("status 503");
      assertThat(tls.failVerifySan.sum()).as("SAN verification failures").isGreaterThan(before);
      var config = web.xds().lastSnapshot().clusters().get("product-service").tls().config();
      assertThat(config.sni()).isEqualTo("product.mesh.internal");
      assertThat(config.serverSans().toString()).contains("sa/someone-else").doesNotContain(PRODUCT);

      apply(cp, SERVICES + RULE.formatted(PRODUCT));
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      assertThat(web.xds().lastSnapshot().clusters().get("product-service").tls().config().sni())
          .isEqualTo("product.mesh.internal");
    }
  }
}
