package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.keelson.control.policy.PolicyException;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Istio's persistent sessions: a Service labelled {@code istio.io/persistent-session} (a cookie) or
 * {@code istio.io/persistent-session-header} is translated as istiod does (an empty stateful_session filter before the
 * router, the service's virtual host overriding it; on gateways, the routes to the service), and a real sidecar
 * programmed over ADS pins each session to one of three apps, also after a new workload joins.
 */
class PersistentSessionTest {
  static String service(String labels) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: cart, labels: { %s } }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: catalog }
        spec: { ports: [ { name: http, port: 80 } ] }
        """.formatted(labels);
  }

  private static String workload(String name, String service, int port) {
    return """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: %s }
        spec: { service: %s, address: 127.0.0.1, port: %d }
        """.formatted(name, service, port);
  }

  /** A gateway in istio-ingress: shop.example.com's /cart to cart, the rest to catalog. */
  static final String GATEWAY = """
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-ingress }
      spec:
        selector: { istio: ingressgateway }
        servers: [ { port: { number: 80, name: http, protocol: HTTP }, hosts: [ shop.example.com ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: shop }
      spec:
        hosts: [ shop.example.com ]
        gateways: [ istio-ingress/ingress ]
        http:
        - match: [ { uri: { prefix: /cart } } ]
          route: [ { destination: { host: cart } } ]
        - route: [ { destination: { host: catalog } } ]
      """;

  private static List<String> filters(Listener l) throws Exception {
    return hcm(l).getHttpFiltersList().stream().map(HttpFilter::getName).toList();
  }

  private static HttpConnectionManager hcm(Listener l) throws Exception {
    return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
  }

  private static VirtualHost vhost(RouteConfiguration rc, String name) {
    return rc.getVirtualHostsList().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
  }

  private static StatefulSession perRoute(Map<String, com.google.protobuf.Any> config) throws Exception {
    return config.get(PersistentSessions.FILTER).unpack(StatefulSessionPerRoute.class).getStatefulSession();
  }

  private static MeshResources sidecar(String yaml) throws Exception {
    return new MeshTranslator(15001, false).translate(GatewayTranslationTest.store(yaml).current(), List.of());
  }

  @Test
  void aCookieLabelPutsTheFilterBeforeTheRouterAndTheCookieOnTheServicesVirtualHost() throws Exception {
    MeshResources r = sidecar(service("istio.io/persistent-session: sticky-cart") + workload("cart-1", "cart", 9001));
    Listener outbound = GatewayTranslationTest.listener(r, "outbound");
    assertThat(filters(outbound)).containsExactly("envoy.filters.http.cors", "envoy.filters.http.fault",
        "envoy.filters.http.stateful_session", "envoy.filters.http.router");
    assertThat(hcm(outbound).getHttpFilters(2).getTypedConfig().unpack(StatefulSession.class))
        .as("empty, as istiod's EmptySessionFilter").isEqualTo(StatefulSession.getDefaultInstance());
    RouteConfiguration rc = r.routes().getFirst();
    StatefulSession s = perRoute(vhost(rc, "cart").getTypedPerFilterConfigMap());
    assertThat(s.getSessionState().getName()).isEqualTo("envoy.http.stateful_session.cookie");
    var cookie = s.getSessionState().getTypedConfig().unpack(CookieBasedSessionState.class).getCookie();
    assertThat(cookie.getName()).isEqualTo("sticky-cart");
    assertThat(cookie.getPath()).isEqualTo("/");
    assertThat(cookie.hasTtl()).as("a session cookie, as istiod").isFalse();
    assertThat(vhost(rc, "catalog").getTypedPerFilterConfigMap()).doesNotContainKey(PersistentSessions.FILTER);
  }

  @Test
  void aCookiePathAndAHeaderLabelAreReadAsIstiodReadsThem() throws Exception {
    RouteConfiguration withPath = sidecar(service("istio.io/persistent-session: \"sid:/api\"")).routes().getFirst();
    var cookie = perRoute(vhost(withPath, "cart").getTypedPerFilterConfigMap()).getSessionState().getTypedConfig()
        .unpack(CookieBasedSessionState.class).getCookie();
    assertThat(cookie.getName()).isEqualTo("sid");
    assertThat(cookie.getPath()).isEqualTo("/api");

    RouteConfiguration header = sidecar(service("istio.io/persistent-session-header: X-Cart-Session")).routes().getFirst();
    StatefulSession s = perRoute(vhost(header, "cart").getTypedPerFilterConfigMap());
    assertThat(s.getSessionState().getName()).isEqualTo("envoy.http.stateful_session.header");
    assertThat(s.getSessionState().getTypedConfig().unpack(HeaderBasedSessionState.class).getName()).isEqualTo("x-cart-session");
  }

  @Test
  void withoutTheLabelNothingChanges() throws Exception {
    MeshResources r = sidecar(service("app: cart"));
    assertThat(filters(GatewayTranslationTest.listener(r, "outbound"))).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(vhost(r.routes().getFirst(), "cart").getTypedPerFilterConfigMap()).isEmpty();
  }

  @Test
  void aGatewaysRoutesToTheServiceCarryTheSession() throws Exception {
    MeshResources r = GatewayTranslationTest.gateway(GatewayTranslationTest.store(
        service("istio.io/persistent-session: sticky-cart") + GATEWAY).current(), Map.of("istio", "ingressgateway"));
    assertThat(filters(GatewayTranslationTest.listener(r, "0.0.0.0_80"))).containsExactly("envoy.filters.http.cors",
        "envoy.filters.http.fault", "envoy.filters.http.stateful_session", "envoy.filters.http.router");
    var routes = GatewayTranslationTest.routes(r, "http.80").getVirtualHosts(0).getRoutesList();
    assertThat(perRoute(routes.get(0).getTypedPerFilterConfigMap()).getSessionState().getTypedConfig()
        .unpack(CookieBasedSessionState.class).getCookie().getName()).isEqualTo("sticky-cart");
    assertThat(routes.get(1).getTypedPerFilterConfigMap()).as("to catalog").doesNotContainKey(PersistentSessions.FILTER);
  }

  @Test
  void aBadLabelIsRefusedNamingIt() {
    assertThatThrownBy(() -> GatewayTranslationTest.store(service("istio.io/persistent-session: \"a b\"")))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("metadata.labels[\"istio.io/persistent-session\"]").hasMessageContaining("not a cookie name");
    assertThatThrownBy(() -> GatewayTranslationTest.store(service("istio.io/persistent-session: \"sid:api\"")))
        .isInstanceOf(PolicyException.class).hasMessageContaining("PATH starting with /");
    assertThatThrownBy(() -> GatewayTranslationTest.store(service("istio.io/persistent-session-header: \"x:y\"")))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("metadata.labels[\"istio.io/persistent-session-header\"]");
    for (String reserved : java.util.List.of("content-length", "transfer-encoding", "Connection", "host", "te", "upgrade",
        "set-cookie", "proxy-connection")) {
      assertThatThrownBy(() -> GatewayTranslationTest.store(service("istio.io/persistent-session-header: " + reserved)))
          .as(reserved).isInstanceOf(PolicyException.class)
          .hasMessageContaining("metadata.labels[\"istio.io/persistent-session-header\"]: '" + reserved + "' ")
          .hasMessageContaining("expected a header of its own");
    }
  }

  @Test
  void aSidecarPinsEachSessionToOneAppAcrossANewWorkload() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b"); TestUpstream c = new TestUpstream("c");
        TestUpstream d = new TestUpstream("d"); SidecarOverAds sidecar = new SidecarOverAds("session-sidecar")) {
      String mesh = service("istio.io/persistent-session: sticky-cart") + workload("cart-a", "cart", a.port())
          + workload("cart-b", "cart", b.port()) + workload("cart-c", "cart", c.port());
      sidecar.apply(mesh);
      sidecar.awaitServing("cart", "/");
      List<String> cookies = new ArrayList<>();
      List<String> pinned = new ArrayList<>();
      for (int session = 0; session < 8; session++) {
        try (RawHttp http = new RawHttp(sidecar.port())) {
          RawHttp.Response r = http.send("GET / HTTP/1.1\r\nHost: cart\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(200);
          String set = r.header("set-cookie");
          assertThat(set).matches("sticky-cart=\"[A-Za-z0-9+/=]+\"; Path=/; HttpOnly");
          cookies.add(set.substring("sticky-cart=".length(), set.indexOf(';')));
          pinned.add(r.header("x-upstream"));
        }
      }
      assertThat(new HashSet<>(pinned)).as("new sessions are balanced").hasSizeGreaterThanOrEqualTo(2);
      assertSticky(sidecar, cookies, pinned);
      sidecar.apply(mesh + workload("cart-d", "cart", d.port()));
      assertSticky(sidecar, cookies, pinned);
      assertThat(d.requests.get()).as("no pinned session moved to the new workload").isZero();
    }
  }

  private static void assertSticky(SidecarOverAds sidecar, List<String> cookies, List<String> pinned) throws Exception {
    try (RawHttp http = new RawHttp(sidecar.port())) {
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < cookies.size(); i++) {
          RawHttp.Response r = http.send("GET / HTTP/1.1\r\nHost: cart\r\nCookie: sticky-cart=" + cookies.get(i) + "\r\n\r\n").read();
          assertThat(r.header("x-upstream")).isEqualTo(pinned.get(i));
          assertThat(r.header("set-cookie")).isNull();
        }
      }
    }
  }
}
