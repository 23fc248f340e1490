package io.keelson.dataplane.filter.compressor;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * What the upstream sees of accept-encoding: the compressor's remove_accept_encoding_header (and a route's override of
 * it), the decompressor's advertise_accept_encoding; over real sockets to an upstream that records request headers.
 */
class AcceptEncodingForwardingTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/keep" }
                      route: { cluster: a }
                      typed_per_filter_config:
                        envoy.filters.http.compressor:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute
                          overrides: { response_direction_config: { remove_accept_encoding_header: false } }
                    - match: { prefix: "/" }
                      route: { cluster: a }
      """;

  @Test
  void theCompressorTakesAcceptEncodingOffTheForwardedRequestUnlessTheRouteKeepsIt() throws Exception {
    String filters = """
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                    response_direction_config: { remove_accept_encoding_header: true }
                    compressor_library:
                      name: gz
                      typed_config: { "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip }
      """;
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port()), filters), PipelineMode.INLINE)) {
      HttpResponse<String> r = proxy.get("/x", "Accept-Encoding", "gzip");
      assertThat(r.headers().firstValue("content-encoding")).hasValue("gzip"); // compressed all the same
      assertThat(a.lastHeaders).doesNotContainKey("accept-encoding");
      proxy.get("/keep", "Accept-Encoding", "gzip");
      assertThat(a.lastHeaders).containsEntry("accept-encoding", "gzip");
    }
  }

  @Test
  void theDecompressorAdvertisesGzipToTheUpstream() throws Exception {
    String filters = """
                - name: envoy.filters.http.decompressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor
                    decompressor_library:
                      name: d
                      typed_config: { "@type": type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip }
                    request_direction_config: { common_config: { enabled: { default_value: false, runtime_key: k } } }
      """;
    try (TestUpstream a = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", a.port()), filters),
            PipelineMode.DISRUPTOR)) {
      proxy.get("/x");
      assertThat(a.lastHeaders).containsEntry("accept-encoding", "gzip");
      proxy.get("/x", "Accept-Encoding", "br");
      assertThat(a.lastHeaders).containsEntry("accept-encoding", "br,gzip");
      assertThat(proxy.stat("http.ingress_http.decompressor.d.gzip.response.not_decompressed")).isEqualTo(2);
    }
  }
}
