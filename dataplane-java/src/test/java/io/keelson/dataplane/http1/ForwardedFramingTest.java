package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The forwarded body's framing is the one the proxy read, whatever the header mutations say: a route that removes and
 * zeroes content-length cannot turn a POST body that is itself an HTTP request into a second request on the pooled
 * upstream connection (curl over HTTP/1.1, fixed length and chunked, and h2c, to a real HTTP/1.1 upstream).
 */
class ForwardedFramingTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: a }
          request_headers_to_remove: [content-length, transfer-encoding]
          request_headers_to_add:
          - header: { key: content-length, value: "0" }
            append_action: OVERWRITE_IF_EXISTS_OR_ADD
      """.indent(12);
  private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void headerMutationsCannotReframeTheForwardedBody(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())), mode)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/post";
      String[][] clients = {{"--http1.1"}, {"--http1.1", "-H", "transfer-encoding: chunked"}, {"--http2-prior-knowledge"}};
      for (String[] client : clients) {
        String[] args = new String[client.length + 5];
        System.arraycopy(client, 0, args, 0, client.length);
        System.arraycopy(new String[] {"-X", "POST", "--data-binary", SMUGGLED, url}, 0, args, client.length, 5);
        assertThat(CurlStatus.of(args)).as(String.join(" ", client)).isEqualTo("200");
        assertThat(a.lastBody).asString().isEqualTo(SMUGGLED);
      }
      assertThat(a.requestLines).containsExactly("POST /post HTTP/1.1", "POST /post HTTP/1.1", "POST /post HTTP/1.1");
      // a GET without a body gains no framing field
      assertThat(CurlStatus.of("--http1.1", url)).isEqualTo("200");
      assertThat(a.lastHeaders).doesNotContainKeys("transfer-encoding");
    }
  }
}
