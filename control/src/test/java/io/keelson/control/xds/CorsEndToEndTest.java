package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio VirtualService {@code corsPolicy} through Keelson's control plane into a real proxy: the outbound
 * listener carries the CORS filter (empty, as istiod sends it) and each rule's routes set their CorsPolicy
 * with {@code typed_per_filter_config}; the proxy answers preflights from allowed origins itself and adds
 * the CORS headers to the app's responses, and leaves other origins and rules alone.
 */
class CorsEndToEndTest {
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - name: api
          match: [ { uri: { prefix: /api } } ]
          corsPolicy:
            allowOrigins: [ { exact: "https://shop.example.com" }, { regex: "https://[a-z]+[.]dev[.]example[.]com" } ]
            allowMethods: [ GET, POST ]
            allowHeaders: [ content-type, authorization ]
            exposeHeaders: [ x-request-id ]
            maxAge: 1h
            allowCredentials: true
          route: [ { destination: { host: product-service } } ]
        - name: rest
          route: [ { destination: { host: product-service } } ]
      """;

  private static List<String> registry(int port) {
    return List.of(Mesh.registry(port, port));
  }

  @Test
  void translatesLikeIstiod() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", registry(1).getFirst() + "---\n" + VIRTUAL_SERVICE).policies(), false);
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    HttpConnectionManager hcm = r.listeners().getFirst().getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(hcm.getHttpFilters(0).getTypedConfig().unpack(Cors.class)).isEqualTo(Cors.getDefaultInstance());
    List<Route> routes = r.routes().getFirst().getVirtualHosts(0).getRoutesList();
    assertThat(routes.get(0).getTypedPerFilterConfigOrThrow("envoy.filters.http.cors").unpack(CorsPolicy.class)).isEqualTo(
        CorsPolicy.newBuilder()
            .addAllowOriginStringMatch(StringMatcher.newBuilder().setExact("https://shop.example.com"))
            .addAllowOriginStringMatch(StringMatcher.newBuilder().setSafeRegex(
                RegexMatcher.newBuilder().setRegex("https://[a-z]+[.]dev[.]example[.]com")))
            .setAllowMethods("GET,POST")
            .setAllowHeaders("content-type,authorization")
            .setExposeHeaders("x-request-id")
            .setMaxAge("3600")
            .setAllowCredentials(BoolValue.of(true))
            .setFilterEnabled(RuntimeFractionalPercent.newBuilder().setDefaultValue(
                FractionalPercent.newBuilder().setNumerator(100).setDenominator(FractionalPercent.DenominatorType.HUNDRED)))
            .build());
    assertThat(routes.get(1).getTypedPerFilterConfigMap()).isEmpty();
  }

  @Test
  void anHttpRouteCorsFilterTranslatesToTheSameFilterAndPolicy() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", registry(1).getFirst() + """
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: product }
        spec:
          parentRefs: [ { kind: Service, group: "", name: product-service } ]
          rules:
          - backendRefs: [ { name: product-service, port: 80 } ]
            filters:
            - type: CORS
              cors: { allowOrigins: [ "https://*.example.com" ], allowMethods: [ GET ], maxAge: 60, allowCredentials: false }
        """).policies(), false);
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    Route route = r.routes().getFirst().getVirtualHosts(0).getRoutes(0);
    CorsPolicy p = route.getTypedPerFilterConfigOrThrow("envoy.filters.http.cors").unpack(CorsPolicy.class);
    assertThat(p.getAllowOriginStringMatchList()).containsExactly(StringMatcher.newBuilder()
        .setSafeRegex(RegexMatcher.newBuilder().setRegex("https://[^/]+\\.example\\.com")).build());
    assertThat(p.getAllowMethods()).isEqualTo("GET");
    assertThat(p.getMaxAge()).isEqualTo("60");
    assertThat(p.getAllowCredentials()).isEqualTo(BoolValue.of(false));
    assertThat(p.hasForwardNotMatchingPreflights()).isFalse();
  }

  @Test
  void aSidecarAnswersPreflightsAndDecoratesResponsesOfTheRuleOnly() throws Exception {
    try (TestUpstream app = new TestUpstream("v1"); SidecarOverAds sidecar = new SidecarOverAds("cors-sidecar")) {
      sidecar.apply(registry(app.port()).getFirst() + "---\n" + VIRTUAL_SERVICE);
      sidecar.awaitServing("product-service", "/items");
      int port = sidecar.port();
      int before = app.requests.get();
      try (RawHttp http = new RawHttp(port)) {
        RawHttp.Response preflight = http.send("OPTIONS /api/cart HTTP/1.1\r\nHost: product-service\r\n"
            + "Origin: https://shop.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n").read();
        assertThat(preflight.status()).isEqualTo(200);
        assertThat(preflight.header("access-control-allow-origin")).isEqualTo("https://shop.example.com");
        assertThat(preflight.header("access-control-allow-methods")).isEqualTo("GET,POST");
        assertThat(preflight.header("access-control-allow-headers")).isEqualTo("content-type,authorization");
        assertThat(preflight.header("access-control-max-age")).isEqualTo("3600");
        assertThat(preflight.header("access-control-allow-credentials")).isEqualTo("true");
        assertThat(app.requests.get()).as("the proxy answers the preflight itself").isEqualTo(before);

        RawHttp.Response get = http.send("GET /api/cart HTTP/1.1\r\nHost: product-service\r\n"
            + "Origin: https://team.dev.example.com\r\n\r\n").read();
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.header("x-upstream")).isEqualTo("v1");
        assertThat(get.header("access-control-allow-origin")).isEqualTo("https://team.dev.example.com");
        assertThat(get.header("access-control-expose-headers")).isEqualTo("x-request-id");

        RawHttp.Response evil = http.send("GET /api/cart HTTP/1.1\r\nHost: product-service\r\n"
            + "Origin: https://evil.example.com\r\n\r\n").read();
        assertThat(evil.status()).isEqualTo(200);
        assertThat(evil.headers().keySet()).noneMatch(h -> h.startsWith("access-control-"));

        RawHttp.Response other = http.send("GET /other HTTP/1.1\r\nHost: product-service\r\n"
            + "Origin: https://shop.example.com\r\n\r\n").read();
        assertThat(other.status()).isEqualTo(200);
        assertThat(other.headers().keySet()).noneMatch(h -> h.startsWith("access-control-"));
      }
      assertThat(app.requests.get()).isEqualTo(before + 3);
    }
  }
}
