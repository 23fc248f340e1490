package io.keelson.dataplane.filter.extauthz;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.ext_authz with grpc_service through a real proxy, a real grpc-java Authorization server
 * ({@link GrpcAuthzServer}) over HTTP/2 and a real upstream, with the policy stage inline and on the ring:
 * the attributes Envoy fills reach the server, OK's header changes reach the upstream, a denial's status,
 * body and headers reach the client, and a dead server fails closed.
 */
class ExtAuthzGrpcProxyTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: a }
      """.indent(12);
  private static final String FILTER = GrpcAuthzServer.FILTER;

  private static ProxyHarness proxy(TestUpstream a, int authzPort, PipelineMode mode) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
        + cluster("authz", "ROUND_ROBIN", authzPort) + "    http2_protocol_options: {}\n", FILTER), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void okResponseHeadersAreValidatedLikeDeniedOnes(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode)) {
      HttpResponse<String> r = proxy.get("/hostile/items");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.requestLines).containsExactly("GET /hostile/items HTTP/1.1"); // not the server's :path
      assertThat(a.lastHeaders).containsEntry("x-user", "mallory").doesNotContainKeys("x-injected", "x-evil", ":path");
      assertThat(a.lastHeaders.get("host")).doesNotContain("evil.example");
    }
  }

  /**
   * An OK answer setting and removing content-length / transfer-encoding is ignored for those fields, and the body of
   * a POST that is itself an HTTP request reaches the upstream as one request (curl over HTTP/1.1 and HTTP/2).
   */
  @org.junit.jupiter.api.Test
  void okHeadersCannotReframeTheBodyIntoASmuggledRequest() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), PipelineMode.INLINE)) {
      String smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
      for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
        assertThat(io.keelson.dataplane.testing.CurlStatus.of(version, "-X", "POST", "--data-binary", smuggled,
            "http://127.0.0.1:" + proxy.port() + "/reframe")).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo(smuggled);
      }
      assertThat(a.requestLines).containsExactly("POST /reframe HTTP/1.1", "POST /reframe HTTP/1.1");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void allowedCheckCarriesEnvoysAttributesAndChangesTheUpstreamHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode)) {
      HttpResponse<String> r = proxy.get("/api/items?q=2", "Authorization", "Bearer g", "X-Drop", "gone");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-user", "bob").doesNotContainKey("x-drop");
      assertThat(authz.checks).hasSize(1);
      AttributeContext attrs = authz.checks.get(0).getAttributes();
      assertThat(attrs.getRequest().getHttp().getMethod()).isEqualTo("GET");
      assertThat(attrs.getRequest().getHttp().getPath()).isEqualTo("/api/items?q=2");
      assertThat(attrs.getRequest().getHttp().getQuery()).isEqualTo("q=2");
      assertThat(attrs.getRequest().getHttp().getScheme()).isEqualTo("http");
      assertThat(attrs.getRequest().getHttp().getHeadersMap()).containsEntry("authorization", "Bearer g")
          .containsEntry(":method", "GET").containsEntry(":path", "/api/items?q=2").containsKey(":authority");
      assertThat(attrs.getSource().getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
      assertThat(attrs.getDestination().getAddress().getSocketAddress().getPortValue()).isEqualTo(proxy.port());
      assertThat(proxy.stat("http.ingress_http.ext_authz.ok")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deniedCheckAnswersTheServersStatusBodyAndHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = proxy(a, authz.port(), mode)) {
      HttpResponse<String> r = proxy.get("/deny/this");
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).isEqualTo("denied over grpc");
      assertThat(r.headers().firstValue("x-deny-reason")).hasValue("grpc says no");
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_authz.denied")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void deadGrpcServerFailsClosed(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, TestUpstream.closedPort(), mode)) {
      assertThat(proxy.get("/api/items").statusCode()).isEqualTo(403);
      assertThat(a.requests.get()).isZero();
      assertThat(proxy.stat("http.ingress_http.ext_authz.error")).isEqualTo(1);
    }
  }

  /**
   * The check's scheme is the request's: on a TLS-or-plaintext (PERMISSIVE) listener a plaintext request is
   * {@code http} (HTTP/1.1 by the connection, h2c by its :scheme), a TLS one {@code https}. Real curl.
   */
  @Test
  void theCheckedSchemeIsTheRequestsOnATlsOrPlaintextListener(@TempDir Path dir) throws Exception {
    TestCa ca = new TestCa("authz-scheme-ca");
    Path cert = ca.issue("proxy.test", "proxy.test", "localhost").write(dir, "server");
    ca.write(dir, "ca.crt");
    String tlsChain = TlsYaml.httpsChain("transport_protocol: tls", cert, dir.resolve("server.key"), "",
        "            alpn_protocols: [h2, http/1.1]\n", TlsYaml.ALL_TO_BACKEND)
        .replace("          http_filters:\n", "          http_filters:\n" + FILTER);
    try (RunningProxies proxies = new RunningProxies(); GrpcAuthzServer authz = new GrpcAuthzServer()) {
      TestUpstream up = proxies.keep(new TestUpstream("backend"));
      int port = proxies.start(TlsYaml.permissiveListener(tlsChain, TlsYaml.cluster(up.port(), null)
          + cluster("authz", "ROUND_ROBIN", authz.port()) + "    http2_protocol_options: {}\n"), 1)
          .listenerAddress("ingress").getPort();
      String cacert = dir.resolve("ca.crt").toString();
      assertThat(CurlStatus.of("--http1.1", "http://127.0.0.1:" + port + "/h1")).isEqualTo("200");
      assertThat(CurlStatus.of("--http2-prior-knowledge", "http://127.0.0.1:" + port + "/h2c")).isEqualTo("200");
      assertThat(CurlStatus.of("--http1.1", "--cacert", cacert, "https://localhost:" + port + "/h1s")).isEqualTo("200");
      assertThat(CurlStatus.of("--http2", "--cacert", cacert, "https://localhost:" + port + "/h2s")).isEqualTo("200");
      assertThat(authz.checks).extracting(c -> c.getAttributes().getRequest().getHttp().getPath() + " "
          + c.getAttributes().getRequest().getHttp().getScheme())
          .containsExactly("/h1 http", "/h2c http", "/h1s https", "/h2s https");
    }
  }
}
