package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The connection manager's path normalization (normalize_path, merge_slashes, path_with_escaped_slashes_action) over
 * real sockets: curl {@code --path-as-is} over HTTP/1.1 and HTTP/2 (prior knowledge) through a Keelson whose RBAC
 * denies {@code /admin}, as Istio's AuthorizationPolicy relies on; the backend sees the normalized path.
 */
class PathNormalizationProxyTest {
  private static final String[] HTTP_VERSIONS = {"--http1.1", "--http2-prior-knowledge"};

  private final RunningProxies proxies = new RunningProxies();
  private TestUpstream backend;
  private int port;

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  @Test
  void normalizedPathsCannotBypassADenyAndReachTheBackendNormalized() throws Exception {
    ProxyServer p = start("normalize_path: true");
    for (String version : HTTP_VERSIONS) {
      for (String bypass : new String[] {"/./admin", "/x/../admin", "/%61dmin", "/public/%2e%2e/admin/x", "/admin"}) {
        assertThat(status(version, bypass)).as(version + " " + bypass).isEqualTo("403");
      }
      // Only RFC 3986 here: adjacent slashes are merge_slashes' business, so "//admin" is not "/admin".
      assertThat(status(version, "//admin")).as(version).isEqualTo("200");
      assertThat(backend.requestLines.getLast()).startsWith("GET //admin ");
      assertThat(status(version, "/a/./b/../%7Euser/x%20y?q=/../%61&r=//")).as(version).isEqualTo("200");
      assertThat(backend.requestLines.getLast()).startsWith("GET /a/~user/x%20y?q=/../%61&r=// ");
      assertThat(status(version, "/a/%00/b")).as(version).isEqualTo("400");
    }
    assertThat(RunningProxies.admin(p, "/stats")).contains("http.ingress_http.downstream_rq_failed_path_normalization: 2");
    assertThat(RunningProxies.admin(p, "/config_dump")).contains("\"normalize_path\": true");
  }

  @Test
  void mergeSlashesMakesDoubleSlashesOne() throws Exception {
    start("normalize_path: true", "merge_slashes: true");
    for (String version : HTTP_VERSIONS) {
      assertThat(status(version, "//admin")).as(version).isEqualTo("403");
      assertThat(status(version, "/.//admin")).as(version).isEqualTo("403");
      assertThat(status(version, "//public///x//?a=//b")).as(version).isEqualTo("200");
      assertThat(backend.requestLines.getLast()).startsWith("GET /public/x/?a=//b ");
    }
  }

  @Test
  void withoutNormalizationThePathIsForwardedAsSent() throws Exception {
    start();
    for (String version : HTTP_VERSIONS) {
      assertThat(status(version, "/./admin")).as(version).isEqualTo("200");
      assertThat(backend.requestLines.getLast()).startsWith("GET /./admin ");
    }
  }

  @Test
  void escapedSlashesAreRejectedRedirectedOrForwardedUnescaped() throws Exception {
    start("normalize_path: true", "path_with_escaped_slashes_action: REJECT_REQUEST");
    for (String version : HTTP_VERSIONS) {
      assertThat(status(version, "/a%2Fb")).as(version).isEqualTo("400");
      assertThat(status(version, "/a%5cb")).as(version).isEqualTo("400");
      assertThat(status(version, "/a%2Bb")).as(version).isEqualTo("200");
    }
    proxies.close();
    start("normalize_path: true", "path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT");
    int before = backend.requests.get();
    for (String version : HTTP_VERSIONS) {
      assertThat(curl(version, "-w", "%{http_code} %header{location}", "http://127.0.0.1:" + port + "/x%2F..%5Cadmin%2fy?q=%2F"))
          .as(version).isEqualTo("307 /admin/y?q=%2F");
      String grpc = curl(version, "-H", "content-type: application/grpc", "-w", "%{http_code} %header{grpc-status}",
          "http://127.0.0.1:" + port + "/a%2Fb");
      // gRPC clients do not follow redirects: 400, over HTTP/2 as a trailers-only INTERNAL, as Envoy
      assertThat(grpc).as(version).isEqualTo(version.equals("--http1.1") ? "400" : "200 13");
    }
    assertThat(backend.requests.get()).isEqualTo(before);
    proxies.close();
    start("path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD");
    for (String version : HTTP_VERSIONS) {
      assertThat(status(version, "/public%2Fx%5Cy?q=%2F")).as(version).isEqualTo("200");
      assertThat(backend.requestLines.getLast()).startsWith("GET /public/x\\y?q=%2F ");
    }
  }

  /**
   * An HTTP/2 {@code :path} with a fragment (a raw Netty h2 client: curl strips fragments) is refused with 400 as
   * Envoy does, whatever the normalization: normalize_path would otherwise make {@code /public#/../admin} into
   * {@code /admin} after RBAC had been meant to see it, and without normalization RBAC would see {@code /public#...}.
   */
  @Test
  void anHttp2PathWithAFragmentIsRefusedWhateverTheNormalization() throws Exception {
    for (String[] hcm : new String[][] {{"normalize_path: true"}, {}}) {
      start(hcm);
      try (io.keelson.dataplane.http2.H2Client client = new io.keelson.dataplane.http2.H2Client(port)) {
        for (String path : new String[] {"/public#/../admin", "/public?q=1#/../admin"}) {
          var r = client.send(new io.netty.handler.codec.http.DefaultFullHttpRequest(
              io.netty.handler.codec.http.HttpVersion.HTTP_1_1, io.netty.handler.codec.http.HttpMethod.GET, path))
              .get(20, TimeUnit.SECONDS);
          try {
            assertThat(r.status().code()).as(String.join(",", hcm) + " " + path).isEqualTo(400);
          } finally {
            r.release();
          }
        }
      }
      assertThat(backend.requests.get()).isZero();
      proxies.close();
    }
  }

  @Test
  void refusesPathNormalizationOptionsByFieldPath() {
    String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", 9)), "path_normalization_options: { forwarding_transformation: {} }");
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> proxies.start(yaml, 1)))
        .hasMessageContaining("path_normalization_options");
  }

  private ProxyServer start(String... hcmFields) throws Exception {
    backend = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", backend.port()), ProxyHarness.rbacDenyPrefix("/admin")), hcmFields), 1);
    port = p.listenerAddress("ingress").getPort();
    return p;
  }

  private String status(String version, String path) throws Exception {
    return curl(version, "-w", "%{http_code}", "http://127.0.0.1:" + port + path);
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "10", "--path-as-is", "-o", "/dev/null"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }
}
