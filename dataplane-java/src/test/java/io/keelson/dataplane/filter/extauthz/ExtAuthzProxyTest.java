package io.keelson.dataplane.filter.extauthz;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.ext_authz (http_service) through a real proxy started from an Envoy bootstrap, a real
 * authorization server ({@link AuthzServer}) and a real upstream, with the policy stage inline and on the
 * ring: allowed requests reach the upstream with the server's headers, denials carry the server's status,
 * body and allowed headers to the client, a dead or slow server fails closed (or open when configured),
 * and a route can switch the filter off.
 */
class ExtAuthzProxyTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/public" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.ext_authz:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                          disabled: true
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  /** The filter item (indented for {@link ProxyHarness#bootstrap}), with {@code extra} typed_config fields. */
  private static String filters(String extra) {
    String filter = """
        - name: envoy.filters.http.ext_authz
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
            http_service:
              server_uri: { uri: "http://authz", cluster: authz, timeout: 3s }
              path_prefix: /check
              authorization_response:
                allowed_upstream_headers: { patterns: [ { exact: x-user }, { prefix: x-tag } ] }
                allowed_client_headers: { patterns: [ { exact: X-Deny-Reason }, { exact: content-type } ] }
            allowed_headers: { patterns: [ { exact: x-tenant } ] }
        """;
    return (filter + extra.stripIndent().indent(4)).indent(10);
  }

  private static ProxyHarness proxy(TestUpstream a, int authzPort, PipelineMode mode, String extra) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()) + cluster("authz", "ROUND_ROBIN", authzPort),
        filters(extra)), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void allowedRequestReachesTheUpstreamWithTheServersAllowedHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/api/items?q=1", "Authorization", "Bearer token-1", "X-Tenant", "t1",
          "X-Other", "not-for-authz");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-upstream")).hasValue("a");
      assertThat(authz.checks).hasSize(1);
      AuthzServer.Check check = authz.checks.get(0);
      assertThat(check.method()).isEqualTo("GET");
      assertThat(check.uri()).isEqualTo("/check/api/items?q=1");
      assertThat(check.headers()).containsEntry("authorization", "Bearer token-1").containsEntry("x-tenant", "t1")
          .containsEntry("content-length", "0").containsKey("host").doesNotContainKey("x-other");
      assertThat(a.lastHeaders).containsEntry("x-user", "alice").containsEntry("x-tag", "from-authz")
          .doesNotContainKey("x-not-for-upstream");
      // The original request is untouched otherwise, and the keep-alive connection serves a second check.
      assertThat(a.requestLines).containsExactly("GET /api/items?q=1 HTTP/1.1");
      HttpResponse<String> post = proxy.send(HttpRequest.newBuilder(proxy.uri("/api/orders"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"n\":1}")));
      assertThat(post.statusCode()).isEqualTo(200);
      assertThat(authz.checks.get(1).method()).isEqualTo("POST");
      assertThat(authz.checks.get(1).headers()).containsEntry("content-length", "0");
      assertThat(a.lastBody).isEqualTo("{\"n\":1}".getBytes(StandardCharsets.UTF_8));
      assertThat(proxy.stat("http.ingress_http.ext_authz.ok")).isEqualTo(2);
      assertThat(proxy.stat("http.ingress_http.ext_authz.denied")).isZero();
    }
  }

  /**
   * A field the request's Connection header names is hop-by-hop, gone before Envoy's filters run: allowed_headers
   * matches it, yet neither the check nor the upstream gets it.
   */
  /**
   * Istio's metadata exchange runs before every other filter: a caller's {@code x-envoy-peer-metadata} fields are gone
   * before ext_authz, even one whose allowed_headers match them.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void theAuthorizationServerNeverSeesPeerMetadataFields(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()), filters("").replace("{ exact: x-tenant }",
            "{ exact: x-tenant }, { prefix: x-envoy-peer-metadata }")), mode);
        RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /api/items HTTP/1.1\r\nHost: svc\r\nX-Tenant: t1\r\n"
          + "x-envoy-peer-metadata-id: sidecar~forged\r\nx-envoy-peer-metadata: Cg1=\r\n"
          + "Authorization: Bearer token-1\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(authz.checks).hasSize(1);
      assertThat(authz.checks.get(0).headers()).containsEntry("x-tenant", "t1")
          .doesNotContainKeys("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
      assertThat(a.lastHeaders).doesNotContainKeys("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aFieldNamedByTheConnectionHeaderIsNotSentToTheAuthorizationServer(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "");
        RawHttp http = new RawHttp(proxy.port())) {
      RawHttp.Response r = http.send("GET /api/items HTTP/1.1\r\nHost: svc\r\nConnection: keep-alive, X-Tenant\r\n"
          + "X-Tenant: t1\r\nAuthorization: Bearer token-1\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(authz.checks).hasSize(1);
      assertThat(authz.checks.get(0).headers()).containsEntry("authorization", "Bearer token-1")
          .doesNotContainKeys("x-tenant", "connection");
      assertThat(a.lastHeaders).doesNotContainKeys("x-tenant", "connection");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deniedRequestGetsTheServersStatusBodyAndAllowedClientHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/deny/me");
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).isEqualTo("{\"error\":\"denied by authz\"}");
      assertThat(r.headers().firstValue("x-deny-reason")).hasValue("no ticket");
      assertThat(r.headers().firstValue("www-authenticate")).hasValue("Bearer realm=\"authz\""); // always passed, as Envoy
      assertThat(r.headers().allValues("content-type")).containsExactly("application/json");
      assertThat(r.headers().firstValue("x-internal-secret")).isEmpty();
      assertThat(a.requests.get()).isZero();
      assertThat(authz.checks).hasSize(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.denied")).isEqualTo(1);
      // The connection stays usable: the next request is allowed.
      assertThat(proxy.get("/fine").statusCode()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deadAuthorizationServerFailsClosed(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, "")) {
      HttpResponse<String> r = proxy.get("/api/items");
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.failure_mode_allowed")).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deadAuthorizationServerWithFailureModeAllowLetsTheRequestThroughMarked(PipelineMode mode) throws Exception {
    String failOpen = """
        failure_mode_allow: true
        failure_mode_allow_header_add: true
        """;
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode, failOpen)) {
      HttpResponse<String> r = proxy.get("/api/items");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-envoy-auth-failure-mode-allowed", "true");
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.failure_mode_allowed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void serverErrorFromTheAuthorizationServerIsAnErrorNotADenial(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/broken");
      assertThat(r.statusCode()).isEqualTo(403); // status_on_error, not the server's 503
      assertThat(r.body()).doesNotContain("authz backend down");
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.denied")).isZero();
    }
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "failure_mode_allow: true\n")) {
      HttpResponse<String> r = proxy.get("/broken");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
      assertThat(proxy.stat("http.ingress_http.ext_authz.failure_mode_allowed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void slowAuthorizationServerTimesOutWithStatusOnError(PipelineMode mode) throws Exception {
    String onError = """
        status_on_error: { code: ServiceUnavailable }
        """;
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, onError)) {
      long start = System.nanoTime();
      HttpResponse<String> r = proxy.get("/slow");
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(tookMs).isLessThan(9000); // the 3 s check timeout, not the server's 15 s
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void clientLeavingCancelsItsCheckAndFreesTheAuthzClustersSlot(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer()) {
      // max_requests: 1 on the authz cluster and a check timeout longer than the slow server's 15 s: a check left
      // outstanding by a departed client would hold the only slot, and the next checks would overflow (403).
      String yaml = bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()) + cluster("authz", "ROUND_ROBIN", authz.port())
          + "    circuit_breakers: { thresholds: [ { max_requests: 1 } ] }\n", filters("")).replace("timeout: 3s", "timeout: 30s");
      try (ProxyHarness proxy = new ProxyHarness(yaml, mode)) {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
          client.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          await().atMost(5, TimeUnit.SECONDS).until(() -> authz.checks.size() == 1);
        } // the HTTP/1.1 client leaves while its check is outstanding
        // 10 s of slack for a loaded machine: a slot still held by a departed client's check stays held for 30 s
        await().atMost(10, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
            .untilAsserted(() -> assertThat(proxy.get("/api/items").statusCode()).isEqualTo(200));
        int checks = authz.checks.size();
        H2Client h2 = new H2Client(proxy.port());
        h2.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/slow/h2"));
        await().atMost(5, TimeUnit.SECONDS).until(() -> authz.checks.size() == checks + 1);
        h2.close(); // the HTTP/2 client leaves (its streams end) while its check is outstanding
        await().atMost(10, TimeUnit.SECONDS).pollInterval(200, TimeUnit.MILLISECONDS)
            .untilAsserted(() -> assertThat(proxy.get("/api/again").statusCode()).isEqualTo(200));
        assertThat(a.requests.get()).isEqualTo(2); // the departed clients' requests never went upstream
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deniedGrpcAndGrpcWebCallsGetOneContentType(PipelineMode mode) throws Exception {
    String grpcWeb = """
        - name: envoy.filters.http.grpc_web
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
        """.indent(10);
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()), grpcWeb + filters("")), mode);
        H2Client client = new H2Client(proxy.port())) {
      // gRPC over HTTP/2: the trailers-only reply's content-type, not also the authz server's application/json.
      DefaultFullHttpRequest call = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/deny/pkg.Svc/Get",
          Unpooled.wrappedBuffer(new byte[5]));
      call.headers().set("content-type", "application/grpc").set("te", "trailers");
      FullHttpResponse r = client.send(call).get(10, TimeUnit.SECONDS);
      try {
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().getAll("content-type")).containsExactly("application/grpc");
        assertThat(r.headers().getAll("grpc-status")).hasSize(1).doesNotContain("0");
        assertThat(r.headers().get("x-deny-reason")).isEqualTo("no ticket"); // the server's other allowed headers stay
      } finally {
        r.release();
      }
      // gRPC-Web over HTTP/1.1: one content-type, the gRPC-Web one.
      try (Socket web = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
        web.setSoTimeout(10_000);
        web.getOutputStream().write(("POST /deny/pkg.Svc/Get HTTP/1.1\r\nHost: x\r\ncontent-type: application/grpc-web+proto\r\n"
            + "x-grpc-web: 1\r\ncontent-length: 5\r\n\r\n\0\0\0\0\0").getBytes(StandardCharsets.ISO_8859_1));
        StringBuilder head = new StringBuilder();
        var in = web.getInputStream();
        while (!head.toString().endsWith("\r\n\r\n")) {
          int b = in.read();
          assertThat(b).as("response head so far: %s", head).isNotNegative();
          head.append((char) b);
        }
        String lower = head.toString().toLowerCase(java.util.Locale.ROOT);
        assertThat(lower).startsWith("http/1.1 200").contains("grpc-status: ").contains("x-deny-reason: no ticket");
        assertThat(lower.split("\r\ncontent-type: ", -1)).as(head.toString()).hasSize(2);
        assertThat(lower).contains("content-type: application/grpc-web+proto");
      }
      assertThat(a.requests.get()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void checksGoThroughTheClustersBalancerAndSkipAnUnhealthyEndpoint(PipelineMode mode) throws Exception {
    int dead = TestUpstream.closedPort();
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer()) {
      String authzCluster = cluster("authz", "ROUND_ROBIN", dead, authz.port()) + """
              health_checks:
              - timeout: 1s
                interval: 0.1s
                no_traffic_interval: 0.1s
                unhealthy_threshold: 1
                healthy_threshold: 1
                tcp_health_check: {}
          """;
      try (ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()) + authzCluster,
          filters("")), mode)) {
        await().atMost(10, TimeUnit.SECONDS).until(() -> proxy.admin("/clusters")
            .contains("authz::127.0.0.1:" + dead + "::health_flags::/failed_active_hc"));
        for (int i = 0; i < 12; i++) { // a random pick would hit the dead endpoint about every other time
          assertThat(proxy.get("/api/items/" + i).statusCode()).as("check %d", i).isEqualTo(200);
        }
        assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isZero();
        assertThat(proxy.stat("http.ingress_http.ext_authz.ok")).isEqualTo(12);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void routeWithTheFilterDisabledIsNotChecked(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, "")) {
      HttpResponse<String> r = proxy.get("/public/deny");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.requests.get()).isEqualTo(1);
      assertThat(authz.checks).isEmpty();
      assertThat(proxy.stat("http.ingress_http.ext_authz.disabled")).isEqualTo(1);
      assertThat(proxy.get("/private/deny").statusCode()).isEqualTo(401);
      assertThat(authz.checks).hasSize(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http2StreamsAreCheckedToo(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode, ""); H2Client client = new H2Client(proxy.port())) {
      DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api/h2");
      get.headers().set("authorization", "Bearer h2").set("x-tenant", "t2");
      FullHttpResponse ok = client.send(get).get(10, TimeUnit.SECONDS);
      assertThat(ok.status().code()).isEqualTo(200);
      assertThat(ok.headers().get("x-upstream")).isEqualTo("a");
      ok.release();
      assertThat(a.lastHeaders).containsEntry("x-user", "alice");
      assertThat(authz.checks.get(0).uri()).isEqualTo("/check/api/h2");
      assertThat(authz.checks.get(0).headers()).containsEntry("authorization", "Bearer h2").containsEntry("x-tenant", "t2");

      FullHttpResponse denied = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/deny/h2"))
          .get(10, TimeUnit.SECONDS);
      assertThat(denied.status().code()).isEqualTo(401);
      assertThat(denied.content().toString(StandardCharsets.UTF_8)).isEqualTo("{\"error\":\"denied by authz\"}");
      assertThat(denied.headers().get("x-deny-reason")).isEqualTo("no ticket");
      assertThat(denied.headers().get("x-internal-secret")).isNull();
      assertThat(denied.headers().getAll("content-type")).containsExactly("application/json");
      denied.release();
      assertThat(a.requests.get()).isEqualTo(1);
    }
  }

  /**
   * Istio's CUSTOM action as istiod writes it: a shadow RBAC filter whose rules name the requests to check (prefix
   * {@code istio_ext_authz_}) and ext_authz enabled by the shadow result's policy id in the dynamic metadata.
   */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void filterEnabledMetadataFromAShadowRbacFilterChecksOnlyTheMatchedRequests(PipelineMode mode) throws Exception {
    String shadowRbac = """
        - name: envoy.filters.http.rbac
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
            shadow_rules_stat_prefix: istio_ext_authz_
            shadow_rules:
              action: DENY
              policies:
                "istio-ext-authz-ns[shop]-policy[ext]-rule[0]":
                  permissions: [ { url_path: { path: { prefix: "/admin/" } } } ]
                  principals: [ { any: true } ]
        """.indent(10);
    String enabled = """
        filter_enabled_metadata:
          filter: envoy.filters.http.rbac
          path: [ { key: istio_ext_authz_shadow_effective_policy_id } ]
          value: { string_match: { prefix: istio-ext-authz } }
        """;
    try (TestUpstream a = new TestUpstream("a"); AuthzServer authz = new AuthzServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()), shadowRbac + filters(enabled)), mode)) {
      assertThat(proxy.get("/other/deny").statusCode()).isEqualTo(200); // not matched: never checked
      assertThat(authz.checks).isEmpty();
      assertThat(proxy.get("/admin/deny").statusCode()).isEqualTo(401);
      HttpResponse<String> ok = proxy.get("/admin/page");
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-user", "alice");
      assertThat(authz.checks).extracting(AuthzServer.Check::uri).containsExactly("/check/admin/deny", "/check/admin/page");
      assertThat(a.requests.get()).isEqualTo(2);
    }
  }
}
