package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code exportTo} through a real control plane and real mTLS sidecars whose namespaces come from their join
 * tokens: shop's {@code reviews}, exported to {@code .}, answers shop's client, while bookinfo's client gets a 404 (no
 * virtual host for the name, as an Istio sidecar without the service); exported to every namespace by a live change,
 * bookinfo's client reaches it too.
 */
class ExportToEndToEndTest {
  private static final String REVIEWS = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata:
        name: reviews
        namespace: shop
        annotations: { networking.istio.io/exportTo: "%s" }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  private static SidecarBootstrap bootstrap(ControlPlane cp, String service, int appPort) {
    return NamespacedServicesEndToEndTest.bootstrap(cp, service, appPort);
  }

  @Test
  void aServiceExportedToItsOwnNamespaceIsNotFoundFromAnotherUntilExportedThere() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService shopApp = new SampleService("reviews", "shop").start("127.0.0.1", 0)) {
      cp.store.apply(PolicyParser.parse("reviews.yaml", REVIEWS.formatted(".")).policies(), false);
      try (Sidecar reviews = SidecarMtlsTest.secureProxy(cp, "shop", "reviews", bootstrap(cp, "reviews",
              shopApp.port()));
          Sidecar shopClient = SidecarMtlsTest.secureProxy(cp, "shop", "web", bootstrap(cp, "web", 1));
          Sidecar bookClient = SidecarMtlsTest.secureProxy(cp, "bookinfo", "web", bootstrap(cp, "web", 1))) {
        int fromShop = shopClient.outboundAddress().getPort();
        int fromBookinfo = bookClient.outboundAddress().getPort();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
            .until(() -> "reviews-shop".equals(SidecarMtlsTest.served(fromShop, "reviews")));
        for (int i = 0; i < 3; i++) {
          assertThat(SidecarMtlsTest.served(fromShop, "reviews")).isEqualTo("reviews-shop");
          assertThat(SidecarMtlsTest.served(fromShop, "reviews.shop:80")).isEqualTo("reviews-shop");
          assertThat(SidecarMtlsTest.served(fromBookinfo, "reviews.shop")).isEqualTo("status 404");
          assertThat(SidecarMtlsTest.served(fromBookinfo, "reviews.shop:80")).isEqualTo("status 404");
        }
        cp.store.apply(PolicyParser.parse("reviews.yaml", REVIEWS.formatted("*")).policies(), false);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
            .until(() -> "reviews-shop".equals(SidecarMtlsTest.served(fromBookinfo, "reviews.shop")));
        assertThat(SidecarMtlsTest.served(fromShop, "reviews")).isEqualTo("reviews-shop");
      }
    }
  }
}
