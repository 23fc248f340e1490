package io.keelson.dataplane.filter;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.testkit.Shell;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Request bodies through envoy.filters.http.decompressor (Envoy's default config: request decompression on) and
 * envoy.filters.http.compressor's request_direction_config, end to end: curl {@code --data-binary} (HTTP/1.1 and
 * {@code --http2-prior-knowledge}, both pipeline wirings) through Keelson to a Java backend that records what it got.
 */
class RequestBodyCodingProxyTest {
  private static final String DECOMPRESSOR = """
                - name: envoy.filters.http.decompressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor
                    decompressor_library:
                      name: basic
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip
      """;
  private static final String COMPRESSOR = """
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                    request_direction_config: {}
                    compressor_library:
                      name: req
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip
      """;
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;

  private TestUpstream backend;
  private Path dir;
  private byte[] json;

  @BeforeEach
  void start() throws Exception {
    assumeTrue(Shell.onPath("curl"), "curl is needed");
    backend = new TestUpstream("backend");
    dir = Files.createTempDirectory("reqcoding");
    StringBuilder b = new StringBuilder("[");
    Random random = new Random(7);
    for (int i = 0; i < 6000; i++) {
      b.append("{\"order\":").append(i).append(",\"sku\":\"SKU-").append(random.nextInt(100_000)).append("\"},");
    }
    json = b.append("{}]").toString().getBytes(StandardCharsets.UTF_8);
  }

  @AfterEach
  void stop() throws Exception {
    if (backend != null) {
      backend.close();
    }
  }

  private ProxyHarness proxy(PipelineMode mode, String filters) throws Exception {
    return new ProxyHarness(bootstrap(VHOSTS, cluster("backend", "ROUND_ROBIN", backend.port()), filters), mode);
  }

  private static byte[] gzip(byte[] data) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(out)) {
      g.write(data);
    }
    return out.toByteArray();
  }

  private static byte[] gunzip(byte[] gz) throws Exception {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
      return in.readAllBytes();
    }
  }

  /** curl POSTs {@code file}; returns the status code it printed. */
  private static String post(ProxyHarness proxy, boolean h2, Path file, String... headers) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"));
    if (h2) {
      command.add("--http2-prior-knowledge");
    }
    for (String h : headers) {
      command.addAll(List.of("-H", h));
    }
    command.addAll(List.of("--data-binary", "@" + file, "http://127.0.0.1:" + proxy.port() + "/upload"));
    return Shell.run(command, 60).out().strip();
  }

  @ParameterizedTest
  @CsvSource({"INLINE,false", "DISRUPTOR,false", "INLINE,true", "DISRUPTOR,true"})
  void theDefaultDecompressorInflatesAGzipRequestBodyForTheBackend(PipelineMode mode, boolean h2) throws Exception {
    Path file = dir.resolve("body.json.gz");
    byte[] gz = gzip(json);
    Files.write(file, gz);
    try (ProxyHarness proxy = proxy(mode, DECOMPRESSOR)) {
      assertThat(post(proxy, h2, file, "content-type: application/json", "content-encoding: gzip")).isEqualTo("200");
      assertThat(backend.lastBody).isEqualTo(json);
      assertThat(backend.lastHeaders).doesNotContainKeys("content-encoding", "content-length");
      String stats = "http.ingress_http.decompressor.basic.gzip.request.";
      assertThat(proxy.stat(stats + "decompressed")).isEqualTo(1);
      assertThat(proxy.stat(stats + "total_compressed_bytes")).isEqualTo(gz.length);
      assertThat(proxy.stat(stats + "total_uncompressed_bytes")).isEqualTo(json.length);

      Path plain = dir.resolve("body.json");
      Files.write(plain, json);
      assertThat(post(proxy, h2, plain, "content-type: application/json")).isEqualTo("200");
      assertThat(backend.lastBody).isEqualTo(json);
      assertThat(backend.lastHeaders).containsEntry("content-length", Integer.toString(json.length));
      assertThat(proxy.stat(stats + "not_decompressed")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @CsvSource({"INLINE", "DISRUPTOR"})
  void aGzipUploadIsInflatedAsItStreamsNotHeldToItsEnd(PipelineMode mode) throws Exception {
    byte[] first = java.util.Arrays.copyOfRange(json, 0, json.length / 2);
    byte[] second = java.util.Arrays.copyOfRange(json, json.length / 2, json.length);
    try (ProxyHarness proxy = proxy(mode, DECOMPRESSOR);
        java.net.Socket client = new java.net.Socket("127.0.0.1", proxy.port())) {
      client.setSoTimeout(30_000);
      java.io.OutputStream out = client.getOutputStream();
      out.write(("POST /upload HTTP/1.1\r\nhost: x\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream gz = new ByteArrayOutputStream();
      GZIPOutputStream deflate = new GZIPOutputStream(gz, true); // sync flush: the first half can be inflated alone
      deflate.write(first);
      deflate.flush();
      writeChunk(out, gz);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
          .until(() -> backend.bodyBytesRead.get() >= first.length); // inflated and forwarded while the upload is open
      deflate.write(second);
      deflate.close();
      writeChunk(out, gz);
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String status = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      assertThat(status).isEqualTo("HTTP/1.1 200 OK");
      assertThat(backend.lastBody).isEqualTo(json);
    }
  }

  private static void writeChunk(java.io.OutputStream out, ByteArrayOutputStream gz) throws Exception {
    out.write((Integer.toHexString(gz.size()) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    gz.writeTo(out);
    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    gz.reset();
  }

  @ParameterizedTest
  @CsvSource({"INLINE,false", "DISRUPTOR,true"})
  void aRequestGzipBombIsCutWith413BeforeTheBackendGetsIt(PipelineMode mode, boolean h2) throws Exception {
    Path bomb = dir.resolve("bomb.gz");
    Files.write(bomb, gzip(new byte[64 << 20])); // 64 MiB of zeros in about 64 KiB
    try (ProxyHarness proxy = proxy(mode, DECOMPRESSOR)) {
      assertThat(post(proxy, h2, bomb, "content-encoding: gzip")).isEqualTo("413");
      assertThat(proxy.stat("http.ingress_http.decompressor.basic.gzip.request.decompression_error")).isEqualTo(1);
      assertThat(backend.bodyBytesRead.get()).isLessThan(64L << 20);
      assertThat(backend.lastBody).isEmpty(); // no request reached its end at the backend
    }
  }

  @ParameterizedTest
  @CsvSource({"INLINE,false", "DISRUPTOR,false", "INLINE,true", "DISRUPTOR,true"})
  void theCompressorGzipsRequestBodiesTowardTheBackend(PipelineMode mode, boolean h2) throws Exception {
    Path file = dir.resolve("body.json");
    Files.write(file, json);
    try (ProxyHarness proxy = proxy(mode, COMPRESSOR)) {
      assertThat(post(proxy, h2, file, "content-type: application/json")).isEqualTo("200");
      assertThat(backend.lastHeaders).containsEntry("content-encoding", "gzip").doesNotContainKey("content-length");
      assertThat(backend.lastBody.length).isLessThan(json.length / 3);
      assertThat(gunzip(backend.lastBody)).isEqualTo(json);
      String stats = "http.ingress_http.compressor.req.gzip.request.";
      assertThat(proxy.stat(stats + "compressed")).isEqualTo(1);
      assertThat(proxy.stat(stats + "total_uncompressed_bytes")).isEqualTo(json.length);

      Path image = dir.resolve("image.png");
      Files.write(image, json);
      assertThat(post(proxy, h2, image, "content-type: image/png")).isEqualTo("200");
      assertThat(backend.lastBody).isEqualTo(json); // not a compressible type: as it came
      assertThat(backend.lastHeaders).doesNotContainKey("content-encoding");
      assertThat(proxy.stat(stats + "not_compressed")).isEqualTo(1);
    }
  }
}
