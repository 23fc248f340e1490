package io.keelson.dataplane.filter.compressor;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.NginxProcess;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.testkit.Shell;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.compressor and envoy.filters.http.decompressor end to end: curl (with and without
 * {@code --compressed}, HTTP/1.1 and {@code --http2-prior-knowledge}) through Keelson to a real nginx serving a large
 * JSON body, a small text, an image and an HTML page with an entity tag; a backend that streams a chunked answer
 * part by part; nginx gzipping for the decompressor, and a gzip bomb.
 */
class CompressionProxyTest {
  private static final String COMPRESSOR = """
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                    response_direction_config:
                      common_config:
                        min_content_length: 100
                    compressor_library:
                      name: text_optimized
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip
                        compression_level: BEST_SPEED
                        chunk_size: 8192
      """;
  private static final String DECOMPRESSOR = """
                - name: envoy.filters.http.decompressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor
                    decompressor_library:
                      name: basic
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.decompressor.v3.Gzip
                    request_direction_config:
                      common_config:
                        enabled: { default_value: false, runtime_key: request_decompressor_enabled }
      """;
  private static final String STATS = "http.ingress_http.compressor.text_optimized.gzip.response.";
  private static final String INFLATE_STATS = "http.ingress_http.decompressor.basic.gzip.response.";

  private static NginxProcess nginx;
  private static byte[] bigJson;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startNginx() throws Exception {
    assumeTrue(Shell.onPath("nginx") && Shell.onPath("curl"), "nginx and curl are needed");
    nginx = new NginxProcess();
    Path www = nginx.root();
    StringBuilder json = new StringBuilder("{\"items\":[");
    Random random = new Random(42);
    for (int i = 0; i < 4000; i++) {
      json.append("{\"id\":").append(i).append(",\"sku\":\"SKU-").append(random.nextInt(1_000_000))
          .append("\",\"name\":\"widget number ").append(i).append("\",\"inStock\":").append(random.nextBoolean()).append("},");
    }
    bigJson = json.append("{}]}").toString().getBytes(StandardCharsets.UTF_8);
    Files.write(www.resolve("big.json"), bigJson);
    Files.createDirectories(www.resolve("off"));
    Files.write(www.resolve("off/big.json"), bigJson);
    Files.createDirectories(www.resolve("gz"));
    Files.write(www.resolve("gz/big.json"), bigJson);
    Files.writeString(www.resolve("small.txt"), "tiny text\n");
    Files.writeString(www.resolve("page.html"), "<html><body>" + "<p>hello compressed world</p>".repeat(40) + "</body></html>");
    byte[] png = new byte[5000];
    random.nextBytes(png);
    Files.write(www.resolve("logo.png"), png);
    Files.createDirectories(www.resolve("bomb"));
    ByteArrayOutputStream bomb = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(bomb)) {
      out.write(new byte[64 << 20]); // 64 MiB of zeros in about 64 KiB
    }
    Files.write(www.resolve("bomb/zeros.json"), bomb.toByteArray());
    nginx.start("""
            location /gz/ { gzip on; gzip_types application/json; gzip_min_length 0; gzip_proxied any; }
            location /bomb/ { add_header Content-Encoding gzip; }
        """);
  }

  @AfterAll
  static void stopNginx() throws Exception {
    if (nginx != null) {
      nginx.close();
    }
  }

  private static ProxyHarness compressing(PipelineMode mode, int... slowPort) throws Exception {
    String slowRoute = slowPort.length == 0 ? "" : """
                    - match: { prefix: "/slow" }
                      route: { cluster: slow }
      """;
    String vhosts = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/off/" }
                      route: { cluster: web }
                      typed_per_filter_config:
                        envoy.filters.http.compressor:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute
                          disabled: true
                    %s
                    - match: { prefix: "/" }
                      route: { cluster: web }
      """.formatted(slowRoute.strip()).replace("\n" + " ".repeat(14) + "\n", "\n");
    String clusters = cluster("web", "ROUND_ROBIN", nginx.port()) + (slowPort.length == 0 ? "" : cluster("slow", "ROUND_ROBIN", slowPort));
    return new ProxyHarness(bootstrap(vhosts, clusters, COMPRESSOR), mode);
  }

  /** One curl run: exit code, response headers (lower case), body bytes. */
  private record Curl(int exit, String headers, byte[] body) {
    boolean hasHeader(String line) {
      return headers.lines().anyMatch(l -> l.strip().equalsIgnoreCase(line));
    }

    boolean hasHeaderNamed(String name) {
      return headers.lines().anyMatch(l -> l.toLowerCase().startsWith(name + ":"));
    }
  }

  private Curl curl(String... args) throws Exception {
    Path headers = Files.createTempFile(tmp, "h", ".txt");
    Path body = Files.createTempFile(tmp, "b", ".bin");
    List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "30", "-D", headers.toString(), "-o", body.toString()));
    command.addAll(List.of(args));
    Shell.Result r = Shell.run(command, 60);
    return new Curl(r.exit(), Files.readString(headers), Files.readAllBytes(body));
  }

  private static byte[] gunzip(byte[] gz) throws Exception {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
      return in.readAllBytes();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1ClientsThatAcceptGzipGetItAndOthersGetThePlainBody(PipelineMode mode) throws Exception {
    try (ProxyHarness proxy = compressing(mode)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/big.json";
      Curl compressed = curl("--compressed", url);
      assertThat(compressed.exit()).isZero();
      assertThat(compressed.body()).isEqualTo(bigJson);
      assertThat(compressed.hasHeader("content-encoding: gzip")).isTrue();
      assertThat(compressed.hasHeader("vary: Accept-Encoding")).isTrue();
      assertThat(compressed.hasHeader("transfer-encoding: chunked")).isTrue();
      assertThat(compressed.hasHeaderNamed("content-length")).isFalse();

      Curl raw = curl("-H", "Accept-Encoding: gzip", url); // not decoded by curl: the bytes on the wire
      assertThat(raw.body().length).isLessThan(bigJson.length / 3);
      assertThat(gunzip(raw.body())).isEqualTo(bigJson);

      Curl plain = curl(url);
      assertThat(plain.body()).isEqualTo(bigJson);
      assertThat(plain.hasHeaderNamed("content-encoding")).isFalse();
      assertThat(plain.hasHeader("content-length: " + bigJson.length)).isTrue();

      assertThat(proxy.stat(STATS + "compressed")).isEqualTo(2);
      assertThat(proxy.stat(STATS + "header_compressor_used")).isEqualTo(2);
      assertThat(proxy.stat(STATS + "not_compressed")).isEqualTo(1);
      assertThat(proxy.stat(STATS + "no_accept_header")).isEqualTo(1);
      assertThat(proxy.stat(STATS + "total_uncompressed_bytes")).isEqualTo(2L * bigJson.length);
      // Both gzip streams (their sizes differ a little with how the upstream's reads cut the body: a flush per chunk).
      assertThat(proxy.stat(STATS + "total_compressed_bytes")).isGreaterThan(raw.body().length).isLessThan(bigJson.length);
    }
  }

  @Test
  void http2StreamsAreCompressedToo() throws Exception {
    Path log = tmp.resolve("access.log");
    String yaml = ProxyHarness.withHcm(bootstrap(ProxyHarness.allTo("web"), cluster("web", "ROUND_ROBIN", nginx.port()), COMPRESSOR),
        ProxyHarness.fileAccessLog(log, "%BYTES_SENT%\\n"));
    try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE)) {
      String url = "http://127.0.0.1:" + proxy.port() + "/big.json";
      Curl compressed = curl("--http2-prior-knowledge", "--compressed", url);
      assertThat(compressed.exit()).isZero();
      assertThat(compressed.headers()).startsWith("HTTP/2 200");
      assertThat(compressed.body()).isEqualTo(bigJson);
      assertThat(compressed.hasHeader("content-encoding: gzip")).isTrue();
      assertThat(compressed.hasHeaderNamed("content-length")).isFalse();
      Curl raw = curl("--http2-prior-knowledge", "-H", "Accept-Encoding: deflate, gzip;q=0.8", url);
      assertThat(gunzip(raw.body())).isEqualTo(bigJson);
      Curl plain = curl("--http2-prior-knowledge", "-H", "Accept-Encoding: gzip;q=0, identity", url);
      assertThat(plain.body()).isEqualTo(bigJson);
      assertThat(plain.hasHeaderNamed("content-encoding")).isFalse();
      assertThat(proxy.stat(STATS + "compressed")).isEqualTo(2);
      assertThat(proxy.stat(STATS + "header_not_valid")).isEqualTo(1);
      // %BYTES_SENT% counts what the client got: the gzip stream, or the plain body.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> Files.exists(log) && Files.readAllLines(log).size() == 3);
      List<String> sent = Files.readAllLines(log);
      assertThat(Long.parseLong(sent.get(1))).isEqualTo(raw.body().length);
      assertThat(Long.parseLong(sent.get(2))).isEqualTo(bigJson.length);
    }
  }

  @Test
  void smallImageHeadAndDisabledRouteResponsesAreNotCompressedAndStrongEtagsBecomeWeak() throws Exception {
    try (ProxyHarness proxy = compressing(PipelineMode.INLINE)) {
      String base = "http://127.0.0.1:" + proxy.port();
      Curl small = curl("--compressed", base + "/small.txt");
      assertThat(small.body()).asString(StandardCharsets.UTF_8).isEqualTo("tiny text\n");
      assertThat(small.hasHeaderNamed("content-encoding")).isFalse();
      assertThat(small.hasHeader("content-length: 10")).isTrue();
      Curl image = curl("--compressed", base + "/logo.png");
      assertThat(image.body()).hasSize(5000);
      assertThat(image.hasHeaderNamed("content-encoding")).isFalse();
      Curl head = curl("--compressed", "-I", base + "/big.json");
      assertThat(head.hasHeaderNamed("content-encoding")).isFalse();
      assertThat(head.hasHeader("content-length: " + bigJson.length)).isTrue();
      Curl off = curl("--compressed", base + "/off/big.json");
      assertThat(off.body()).isEqualTo(bigJson);
      assertThat(off.hasHeaderNamed("content-encoding")).isFalse();
      Curl page = curl("--compressed", base + "/page.html");
      assertThat(page.hasHeader("content-encoding: gzip")).isTrue();
      String etag = page.headers().lines().filter(l -> l.toLowerCase().startsWith("etag:")).findFirst().orElseThrow();
      assertThat(etag.substring(5).strip()).startsWith("W/\"");
      assertThat(proxy.stat(STATS + "content_length_too_small")).isEqualTo(1);
      assertThat(proxy.stat(STATS + "compressed")).isEqualTo(1);
    }
  }

  /** Answers every request with a chunked text/plain body: the first part at once, the second when released. */
  private static final class StreamingBackend implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean releasedInTime = new AtomicBoolean();
    final Thread thread = Thread.ofVirtual().start(this::serve);

    StreamingBackend() throws Exception {}

    private void serve() {
      try (Socket s = server.accept()) {
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
          // the request head
        }
        OutputStream out = s.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
            + chunk("first part of a stream that is still being written\n")).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        releasedInTime.set(release.await(30, TimeUnit.SECONDS));
        out.write((chunk("second part, sent only once the client saw the first\n") + "0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        s.getInputStream().read(); // until the proxy closes or reuses: keep the connection for it
      } catch (Exception e) {
        // closed by the test
      }
    }

    private static String chunk(String text) {
      return Integer.toHexString(text.length()) + "\r\n" + text + "\r\n";
    }

    @Override
    public void close() throws Exception {
      release.countDown();
      server.close();
      thread.join(5000);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE"})
  void aStreamedResponseIsCompressedChunkByChunkAsItArrives(PipelineMode mode) throws Exception {
    for (String protocol : List.of("--http1.1", "--http2-prior-knowledge")) {
      try (StreamingBackend backend = new StreamingBackend(); ProxyHarness proxy = compressing(mode, backend.server.getLocalPort())) {
        Process curl = new ProcessBuilder("curl", "-sN", "--max-time", "30", protocol, "--compressed", "-D", "/dev/stderr",
            "http://127.0.0.1:" + proxy.port() + "/slow").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(curl.getInputStream(), StandardCharsets.UTF_8))) {
          // The first part arrives, inflated by curl, while the backend still holds the rest.
          assertThat(out.readLine()).isEqualTo("first part of a stream that is still being written");
          assertThat(backend.releasedInTime).isFalse();
          backend.release.countDown();
          assertThat(out.readLine()).isEqualTo("second part, sent only once the client saw the first");
          assertThat(out.readLine()).isNull();
        } finally {
          curl.waitFor(30, TimeUnit.SECONDS);
        }
        assertThat(curl.exitValue()).as(protocol).isZero();
        assertThat(backend.releasedInTime).isTrue();
        assertThat(proxy.stat(STATS + "compressed")).isEqualTo(1);
      }
    }
  }

  private static ProxyHarness decompressing(PipelineMode mode) throws Exception {
    return new ProxyHarness(bootstrap(ProxyHarness.allTo("web"), cluster("web", "ROUND_ROBIN", nginx.port()), DECOMPRESSOR), mode);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void theDecompressorAsksForGzipAndInflatesItForTheClient(PipelineMode mode) throws Exception {
    try (ProxyHarness proxy = decompressing(mode)) {
      for (String protocol : List.of("--http1.1", "--http2-prior-knowledge")) {
        Curl plain = curl(protocol, "http://127.0.0.1:" + proxy.port() + "/gz/big.json");
        assertThat(plain.exit()).isZero();
        assertThat(plain.body()).isEqualTo(bigJson);
        assertThat(plain.hasHeaderNamed("content-encoding")).isFalse();
        assertThat(plain.hasHeaderNamed("content-length")).isFalse();
      }
      assertThat(proxy.stat(INFLATE_STATS + "decompressed")).isEqualTo(2);
      assertThat(proxy.stat(INFLATE_STATS + "total_uncompressed_bytes")).isEqualTo(2L * bigJson.length);
      // nginx gzipped because the filter advertised gzip: the client sent no accept-encoding.
      assertThat(proxy.stat(INFLATE_STATS + "total_compressed_bytes")).isLessThan(bigJson.length);
      Curl notGzip = curl("http://127.0.0.1:" + proxy.port() + "/small.txt");
      assertThat(notGzip.body()).asString(StandardCharsets.UTF_8).isEqualTo("tiny text\n");
      assertThat(proxy.stat(INFLATE_STATS + "not_decompressed")).isEqualTo(1);
    }
  }

  @Test
  void aGzipBombIsCutAtTheInflateRatioAndTheProxyKeepsServing() throws Exception {
    try (ProxyHarness proxy = decompressing(PipelineMode.INLINE)) {
      String base = "http://127.0.0.1:" + proxy.port();
      for (String protocol : List.of("--http1.1", "--http2-prior-knowledge")) {
        Curl bomb = curl(protocol, base + "/bomb/zeros.json");
        assertThat(bomb.exit()).as(protocol).isNotZero(); // cut: connection closed (HTTP/1.1), stream reset (HTTP/2)
        assertThat((long) bomb.body().length).isLessThan(100L * Files.size(nginx.root().resolve("bomb/zeros.json")) + (1 << 20));
        assertThat(bomb.body().length).isLessThan(64 << 20);
      }
      assertThat(proxy.stat(INFLATE_STATS + "decompression_error")).isEqualTo(2);
      Curl after = curl(base + "/gz/big.json");
      assertThat(after.body()).isEqualTo(bigJson);
    }
  }
}
