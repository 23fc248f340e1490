package io.keelson.dataplane.filter.cors;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.cors through a real proxy (started from an Envoy bootstrap) and a real upstream, over
 * HTTP/1.1 and HTTP/2, with the policy stage inline and on the ring: preflights answered by the proxy, actual
 * requests forwarded and decorated, other origins untouched.
 */
class CorsProxyTest {
  private static final String ORIGIN = "https://app.example.com";
  private static final String FILTERS = """
                - name: envoy.filters.http.cors
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
      """;
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    typed_per_filter_config:
                      envoy.filters.http.cors:
                        "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                        allow_origin_string_match: [ { exact: "https://app.example.com" }, { suffix: ".trusted.example" } ]
                        allow_methods: "GET,POST,PUT"
                        allow_headers: "content-type,authorization"
                        expose_headers: "x-request-id"
                        max_age: "86400"
                        allow_credentials: true
                    routes:
                    - match: { prefix: "/api" }
                      route: { cluster: a }
                      response_headers_to_add:
                      - header: { key: access-control-allow-origin, value: "https://upstream-set.example" }
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  private static ProxyHarness proxy(TestUpstream a, PipelineMode mode) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()), FILTERS), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1PreflightIsAnsweredByTheProxyWithoutAnUpstreamRequest(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, mode); RawHttp raw = new RawHttp(proxy.port())) {
      RawHttp.Response r = raw.send("OPTIONS /api/items HTTP/1.1\r\nHost: h\r\nOrigin: " + ORIGIN + "\r\n"
          + "Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEmpty();
      assertThat(r.header("access-control-allow-origin")).isEqualTo(ORIGIN);
      assertThat(r.header("access-control-allow-methods")).isEqualTo("GET,POST,PUT");
      assertThat(r.header("access-control-allow-headers")).isEqualTo("content-type,authorization");
      assertThat(r.header("access-control-max-age")).isEqualTo("86400");
      assertThat(r.header("access-control-allow-credentials")).isEqualTo("true");
      assertThat(r.header("access-control-expose-headers")).isNull();
      // The connection stays usable, and the next request does reach the upstream.
      RawHttp.Response next = raw.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").read();
      assertThat(next.status()).isEqualTo(200);
      assertThat(next.header("access-control-allow-origin")).isNull();
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(a.requestLines).containsExactly("GET /x HTTP/1.1");
      assertThat(proxy.stat("http.ingress_http.cors.origin_valid")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1ActualRequestsAreForwardedAndOnlyAllowedOriginsGetTheHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, mode)) {
      HttpResponse<String> allowed = proxy.get("/api/items", "Origin", "https://eu.trusted.example");
      assertThat(allowed.statusCode()).isEqualTo(200);
      assertThat(allowed.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(allowed.body()).contains("origin: https://eu.trusted.example");
      // The filter sets access-control-allow-origin, replacing the one the route added (Envoy's setInline).
      assertThat(allowed.headers().allValues("access-control-allow-origin")).containsExactly("https://eu.trusted.example");
      assertThat(allowed.headers().allValues("access-control-allow-credentials")).containsExactly("true");
      assertThat(allowed.headers().allValues("access-control-expose-headers")).containsExactly("x-request-id");
      assertThat(allowed.headers().firstValue("access-control-allow-methods")).isEmpty();

      HttpResponse<String> denied = proxy.get("/other", "Origin", "https://evil.example");
      assertThat(denied.statusCode()).isEqualTo(200);
      assertThat(denied.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(denied.headers().map().keySet()).noneMatch(h -> h.startsWith("access-control-"));

      // A preflight from another origin is forwarded to the upstream, as Envoy does by default.
      HttpResponse<String> deniedPreflight = proxy.send(HttpRequest.newBuilder(proxy.uri("/other"))
          .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
          .header("Origin", "https://evil.example").header("Access-Control-Request-Method", "DELETE"));
      assertThat(deniedPreflight.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(deniedPreflight.headers().map().keySet()).noneMatch(h -> h.startsWith("access-control-"));
      assertThat(a.requests.get()).isEqualTo(3);
      assertThat(proxy.stat("http.ingress_http.cors.origin_valid")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.cors.origin_invalid")).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http2StreamsGetTheSameTreatment(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, mode); H2Client client = new H2Client(proxy.port())) {
      DefaultFullHttpRequest preflight = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "/api/items");
      preflight.headers().set("origin", ORIGIN).set("access-control-request-method", "POST");
      FullHttpResponse p = client.send(preflight).get(10, TimeUnit.SECONDS);
      assertThat(p.status().code()).isEqualTo(200);
      assertThat(p.headers().get("access-control-allow-origin")).isEqualTo(ORIGIN);
      assertThat(p.headers().get("access-control-allow-methods")).isEqualTo("GET,POST,PUT");
      assertThat(p.headers().get("access-control-max-age")).isEqualTo("86400");
      assertThat(p.headers().get("access-control-allow-credentials")).isEqualTo("true");
      p.release();
      assertThat(a.requests.get()).isZero();

      DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api/items");
      get.headers().set("origin", ORIGIN);
      FullHttpResponse g = client.send(get).get(10, TimeUnit.SECONDS);
      assertThat(g.status().code()).isEqualTo(200);
      assertThat(g.headers().get("x-upstream")).isEqualTo("a");
      assertThat(g.headers().getAll("access-control-allow-origin")).containsExactly(ORIGIN);
      assertThat(g.headers().get("access-control-expose-headers")).isEqualTo("x-request-id");
      g.release();

      DefaultFullHttpRequest other = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x");
      other.headers().set("origin", "https://evil.example");
      FullHttpResponse o = client.send(other).get(10, TimeUnit.SECONDS);
      assertThat(o.status().code()).isEqualTo(200);
      assertThat(o.headers().names()).noneMatch(h -> h.toString().startsWith("access-control-"));
      o.release();
      assertThat(a.requests.get()).isEqualTo(2);
    }
  }
}
