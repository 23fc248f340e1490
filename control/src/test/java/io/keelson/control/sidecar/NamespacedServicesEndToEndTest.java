package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two registry Services named {@code reviews}, in namespaces shop and bookinfo, through a real control plane and real
 * mTLS sidecars whose namespaces come from their join tokens: a client of shop calling {@code reviews} reaches shop's,
 * {@code reviews.bookinfo} bookinfo's; a client of bookinfo calling {@code reviews} reaches bookinfo's; each app's
 * sidecar registered to its own namespace's Service.
 */
class NamespacedServicesEndToEndTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: shop }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews, namespace: bookinfo }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  @Test
  void aClientCallingAShortNameReachesItsOwnNamespacesServiceAndAQualifiedNameTheOther() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService shopApp = new SampleService("reviews", "shop").start("127.0.0.1", 0);
        SampleService bookApp = new SampleService("reviews", "bookinfo").start("127.0.0.1", 0)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
      try (Sidecar shop = SidecarMtlsTest.secureProxy(cp, "shop", "reviews", bootstrap(cp, "reviews", shopApp.port()));
          Sidecar book = SidecarMtlsTest.secureProxy(cp, "bookinfo", "reviews", bootstrap(cp, "reviews", bookApp.port()));
          Sidecar shopClient = SidecarMtlsTest.secureProxy(cp, "shop", "web", bootstrap(cp, "web", 1));
          Sidecar bookClient = SidecarMtlsTest.secureProxy(cp, "bookinfo", "web", bootstrap(cp, "web", 1))) {
        int fromShop = shopClient.outboundAddress().getPort();
        int fromBookinfo = bookClient.outboundAddress().getPort();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
            .until(() -> "reviews-shop".equals(SidecarMtlsTest.served(fromShop, "reviews"))
                && "reviews-bookinfo".equals(SidecarMtlsTest.served(fromBookinfo, "reviews")));
        for (int i = 0; i < 3; i++) {
          assertThat(SidecarMtlsTest.served(fromShop, "reviews")).isEqualTo("reviews-shop");
          assertThat(SidecarMtlsTest.served(fromShop, "reviews:80")).isEqualTo("reviews-shop");
          assertThat(SidecarMtlsTest.served(fromShop, "reviews.shop")).isEqualTo("reviews-shop");
          assertThat(SidecarMtlsTest.served(fromShop, "reviews.bookinfo")).isEqualTo("reviews-bookinfo");
          assertThat(SidecarMtlsTest.served(fromShop, "reviews.bookinfo:80")).isEqualTo("reviews-bookinfo");
          assertThat(SidecarMtlsTest.served(fromBookinfo, "reviews")).isEqualTo("reviews-bookinfo");
          assertThat(SidecarMtlsTest.served(fromBookinfo, "reviews.shop")).isEqualTo("reviews-shop");
        }
        assertThat(cp.xds.registeredWorkloads().values()).extracting(w -> w.service()).contains("reviews.shop", "reviews.bookinfo");
      }
    }
  }

  /**
   * istiod's DestinationRule lookup per client namespace, in the traffic: shop's {@code reviews} has two instances;
   * namespace a's own rule for it hashes on {@code x-user}, so a's client sends one user to one instance, while b's
   * client (no rule of its own, none in shop or the root namespace) round-robins over both. Both clients register
   * {@code --service web}, which their namespaces have not: they serve nothing and still call the mesh.
   */
  @Test
  void clientsOfTwoNamespacesGetTheirOwnNamespacesDestinationRuleForOneService() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("reviews", "v1").start("127.0.0.1", 0);
        SampleService v2 = new SampleService("reviews", "v2").start("127.0.0.1", 0)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH + """
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: reviews-by-user, namespace: a }
          spec:
            host: reviews.shop.svc.cluster.local
            trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
          """).policies(), false);
      try (Sidecar one = SidecarMtlsTest.secureProxy(cp, "shop", "reviews", bootstrap(cp, "reviews", v1.port()));
          Sidecar two = SidecarMtlsTest.secureProxy(cp, "shop", "reviews", bootstrap(cp, "reviews", v2.port()));
          Sidecar aClient = SidecarMtlsTest.secureProxy(cp, "a", "web", bootstrap(cp, "web", 1));
          Sidecar bClient = SidecarMtlsTest.secureProxy(cp, "b", "web", bootstrap(cp, "web", 1))) {
        int fromA = aClient.outboundAddress().getPort();
        int fromB = bClient.outboundAddress().getPort();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> ConsistentHashEndToEndTest.byUser(fromB,
            "reviews.shop", "alice", 8).keySet().equals(java.util.Set.of("reviews-v1", "reviews-v2")));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> ConsistentHashEndToEndTest.byUser(fromA,
            "reviews.shop", "alice", 8).size() == 1);
        java.util.Set<String> reached = new java.util.HashSet<>();
        for (int u = 0; u < 12; u++) {
          var fromAByUser = ConsistentHashEndToEndTest.byUser(fromA, "reviews.shop", "user-" + u, 6);
          assertThat(fromAByUser).as("a's rule: one user, one instance").hasSize(1);
          reached.addAll(fromAByUser.keySet());
          assertThat(ConsistentHashEndToEndTest.byUser(fromB, "reviews.shop", "user-" + u, 6))
              .as("b's client round-robins").containsOnlyKeys("reviews-v1", "reviews-v2");
        }
        assertThat(reached).as("a's users are spread over both instances").hasSize(2);
        assertThat(cp.xds.registeredWorkloads().values()).extracting(w -> w.service())
            .contains("web.a", "web.b").doesNotContain("web");
      }
    }
  }

  /**
   * Kubernetes' search path and istiod's short-name resolution: a client of namespace shop, which has no
   * {@code reviews}, calling {@code reviews} gets no route (404, as Envoy's NR), never namespace default's; the
   * qualified names reach it, {@code reviews.default.svc.cluster.local} and {@code reviews.default.svc} included (each
   * also with the port), while a client of namespace default still reaches it by its short name. curl through real
   * mTLS sidecars.
   */
  @Test
  void aShortNameOfNoServiceOfTheClientsNamespaceHasNoRouteAndFullyQualifiedNamesReachDefaults() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("reviews", "default").start("127.0.0.1", 0)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH.replace("name: reviews, namespace: shop }",
          "name: reviews }")).policies(), false);
      try (Sidecar server = SidecarMtlsTest.secureProxy(cp, "default", "reviews", bootstrap(cp, "reviews", app.port()));
          Sidecar shopClient = SidecarMtlsTest.secureProxy(cp, "shop", "web", bootstrap(cp, "web", 1));
          Sidecar defaultClient = SidecarMtlsTest.secureProxy(cp, "default", "web", bootstrap(cp, "web", 1))) {
        int fromShop = shopClient.outboundAddress().getPort();
        int fromDefault = defaultClient.outboundAddress().getPort();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
            .until(() -> "200".equals(status(fromShop, "reviews.default.svc.cluster.local"))
                && "200".equals(status(fromDefault, "reviews")));
        for (String host : List.of("reviews.default", "reviews.default:80", "reviews.default.svc",
            "reviews.default.svc:80", "reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:80")) {
          assertThat(status(fromShop, host)).as(host + " from shop").isEqualTo("200");
          assertThat(status(fromDefault, host)).as(host + " from default").isEqualTo("200");
        }
        assertThat(status(fromShop, "reviews")).as("shop has no reviews: not default's").isEqualTo("404");
        assertThat(status(fromShop, "reviews:80")).isEqualTo("404");
        assertThat(status(fromDefault, "reviews:80")).isEqualTo("200");
        assertThat(status(fromShop, "reviews.bookinfo.svc.cluster.local")).as("bookinfo's").isEqualTo("503");
      }
    }
  }

  /** The status curl gets through a sidecar's outbound port for {@code Host: host}. */
  private static String status(int port, String host) throws Exception {
    IngressGatewayTest.Curl c = IngressGatewayTest.curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: " + host,
        "http://127.0.0.1:" + port + "/items");
    return c.out().strip();
  }

  static SidecarBootstrap bootstrap(ControlPlane cp, String service, int appPort) {
    return new SidecarBootstrap("127.0.0.1", cp.security.securePort().port(), service, Map.of(), appPort, 0, 0,
        "127.0.0.1", 0);
  }
}
