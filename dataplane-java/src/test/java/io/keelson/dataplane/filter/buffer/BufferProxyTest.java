package io.keelson.dataplane.filter.buffer;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.extauthz.GrpcAuthzServer;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * envoy.filters.http.buffer through a real proxy, real curl and a real upstream: a streamed (chunked, or HTTP/2 without
 * content-length) body reaches the upstream whole with a content-length; a body over max_request_bytes is answered 413
 * and never reaches it; BufferPerRoute disabled streams the body as before.
 */
class BufferProxyTest {
  private static final int LIMIT = 4096;
  private static final String FILTER = """
                - name: envoy.filters.http.buffer
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer
                    max_request_bytes: %d
      """.formatted(LIMIT);
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/stream" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.buffer:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute
                          disabled: true
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  private static ProxyHarness proxy(TestUpstream a, PipelineMode mode) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()), FILTER), mode);
  }

  /** Uploads {@code body} from curl's stdin (-T -: chunked on HTTP/1.1, no content-length on HTTP/2); the status. */
  private static String upload(byte[] body, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}",
        "-X", "POST", "-T", "-"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (var in = proc.getOutputStream()) {
      in.write(body);
    } catch (java.io.IOException closedEarly) {
      // curl stopped reading its input: the proxy answered before the whole body was sent
    }
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }

  private static byte[] body(int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) 'x');
    b[n - 1] = 'z';
    return b;
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aStreamedBodyReachesTheUpstreamWholeWithAContentLength(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, mode)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/upload";
      assertThat(upload(body(1000), "--http1.1", url)).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("content-length", "1000").doesNotContainKey("transfer-encoding");
      assertThat(a.lastBody).isEqualTo(body(1000));

      assertThat(upload(body(LIMIT), "--http2-prior-knowledge", url)).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("content-length", Integer.toString(LIMIT)).doesNotContainKey("transfer-encoding");
      assertThat(a.lastBody).isEqualTo(body(LIMIT));
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBodyOverTheLimitIsAnswered413AndNeverReachesTheUpstream(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, mode)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/upload";
      assertThat(upload(body(LIMIT + 1), "--http1.1", url)).isEqualTo("413");
      assertThat(upload(body(4 * LIMIT), "--http2-prior-knowledge", url)).isEqualTo("413");
      // A declared content-length over the limit is refused before the body is read.
      List<String> cmd = List.of("curl", "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "--http1.1",
          "--data-binary", "@-", url);
      Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      try (var in = proc.getOutputStream()) {
        in.write(body(2 * LIMIT));
      }
      assertThat(new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip()).isEqualTo("413");
      assertThat(a.requests.get()).isZero();
      // The proxy still serves: a small body goes through.
      assertThat(upload(body(10), "--http1.1", url)).isEqualTo("200");
      assertThat(a.requests.get()).isEqualTo(1);
    }
  }

  /**
   * buffer before ext_authz, as in Envoy: an oversized body is answered 413 before the authorization server is asked;
   * a body within the limit is checked, then forwarded whole.
   */
  @Test
  void anOversizedBodyIsAnswered413BeforeTheExternalCheckIsAsked() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()) + "    http2_protocol_options: {}\n",
            FILTER + GrpcAuthzServer.FILTER), PipelineMode.INLINE)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/upload";
      assertThat(upload(body(LIMIT + 1), "--http1.1", url)).isEqualTo("413");
      assertThat(upload(body(4 * LIMIT), "--http2-prior-knowledge", url)).isEqualTo("413");
      assertThat(authz.checks).isEmpty();
      assertThat(a.requests.get()).isZero();
      assertThat(upload(body(100), "--http1.1", url)).isEqualTo("200");
      assertThat(authz.checks).hasSize(1);
      assertThat(a.lastBody).isEqualTo(body(100));
    }
  }

  @Test
  void bufferPerRouteDisabledStreamsTheBodyAsBefore() throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = proxy(a, PipelineMode.INLINE)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/stream";
      assertThat(upload(body(3 * LIMIT), "--http1.1", url)).isEqualTo("200");
      assertThat(a.lastHeaders).containsEntry("transfer-encoding", "chunked").doesNotContainKey("content-length");
      assertThat(a.lastBody).isEqualTo(body(3 * LIMIT));
    }
  }
}
