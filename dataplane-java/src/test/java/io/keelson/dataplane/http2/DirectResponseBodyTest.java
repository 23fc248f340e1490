package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * direct_response as Envoy sends it, over HTTP/1.1 and h2c through a real proxy: the body is exact bytes
 * (inline_bytes as is, inline_string as UTF-8) with a matching content-length and access-log byte count, and
 * the route's, virtual host's and route configuration's response_headers_to_add apply to it (and to redirects, and
 * to the router's own replies once a route was chosen, such as a 503 for an upstream that refuses, as Envoy's router
 * passes finalizeResponseHeaders to sendLocalReply).
 */
class DirectResponseBodyTest {
  private static final byte[] BINARY = {0x00, (byte) 0xff, (byte) 0xfe, (byte) 0x80};
  private static final String TEXT = "héllo ✓";

  @TempDir Path dir;
  private TestUpstream upstream;
  private ProxyHarness proxy;
  private Path log;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestUpstream("u1");
    log = dir.resolve("access.log");
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      response_headers_to_add:
                      - header: { key: x-vhost, value: v }
                      response_headers_to_remove: [x-drop]
                      routes:
                      - match: { path: "/binary" }
                        direct_response: { status: 200, body: { inline_bytes: "AP/+gA==" } }
                        response_headers_to_add:
                        - header: { key: x-route, value: r }
                      - match: { path: "/text" }
                        direct_response: { status: 201, body: { inline_string: "héllo ✓" } }
                      - match: { path: "/typed" }
                        direct_response: { status: 200, body: { inline_string: "{}" } }
                        response_headers_to_add:
                        - header: { key: content-type, value: application/json }
                          append_action: OVERWRITE_IF_EXISTS_OR_ADD
                      - match: { path: "/empty" }
                        direct_response: { status: 204 }
                        response_headers_to_add:
                        - header: { key: x-drop, value: d }
                        - header: { key: x-keep, value: k }
                      - match: { path: "/moved" }
                        redirect: { path_redirect: "/new" }
                        response_headers_to_add:
                        - header: { key: x-route, value: moved }
                      - match: { path: "/dead" }
                        route: { cluster: dead }
                        response_headers_to_add:
                        - header: { key: x-route, value: dead }
                      - match: { prefix: "/" }
                        route: { cluster: backend }
        """;
    String yaml = ProxyHarness.withHcm(
        ProxyHarness.bootstrap(vhosts, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())
            + ProxyHarness.cluster("dead", "ROUND_ROBIN", TestUpstream.closedPort())),
        ProxyHarness.fileAccessLog(log, "%REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_SENT%\\n"));
    String anchor = "          name: local\n";
    assertThat(yaml).contains(anchor);
    yaml = yaml.replace(anchor, anchor + "            response_headers_to_add:\n"
        + "            - header: { key: x-route-config, value: rc }\n");
    proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  private HttpResponse<byte[]> h1(String path) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return client.send(HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static FullHttpResponse h2(H2Client client, String path) throws Exception {
    return client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path)).get(10, TimeUnit.SECONDS);
  }

  private List<String> logLines(int n) throws Exception {
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readAllLines(log).size() >= n);
    return Files.readAllLines(log);
  }

  @Test
  void http1SendsABinaryInlineBytesBodyByteExact() throws Exception {
    HttpResponse<byte[]> r = h1("/binary");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).containsExactly(BINARY);
    assertThat(r.headers().firstValue("content-length")).hasValue("4");
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain");
    assertThat(logLines(1).get(0)).isEqualTo("/binary HTTP/1.1 200 DR 4");
  }

  @Test
  void http1SendsANonAsciiInlineStringAsUtf8WithItsByteLength() throws Exception {
    byte[] utf8 = TEXT.getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> r = h1("/text");
    assertThat(r.statusCode()).isEqualTo(201);
    assertThat(r.body()).containsExactly(utf8);
    assertThat(r.headers().firstValue("content-length")).hasValue(String.valueOf(utf8.length));
    assertThat(logLines(1).get(0)).isEqualTo("/text HTTP/1.1 201 DR " + utf8.length);
  }

  @Test
  void http1DirectResponsesAndRedirectsCarryTheResponseHeadersToAdd() throws Exception {
    HttpResponse<byte[]> r = h1("/binary");
    assertThat(r.headers().allValues("x-route")).containsExactly("r");
    assertThat(r.headers().allValues("x-vhost")).containsExactly("v");
    assertThat(r.headers().allValues("x-route-config")).containsExactly("rc");
    HttpResponse<byte[]> typed = h1("/typed");
    assertThat(typed.headers().allValues("content-type")).containsExactly("application/json");
    assertThat(new String(typed.body(), StandardCharsets.UTF_8)).isEqualTo("{}");
    HttpResponse<byte[]> empty = h1("/empty");
    assertThat(empty.statusCode()).isEqualTo(204);
    assertThat(empty.headers().firstValue("x-drop")).as("the virtual host's removal follows the route's additions").isEmpty();
    assertThat(empty.headers().allValues("x-keep")).containsExactly("k");
    assertThat(empty.headers().firstValue("content-type")).isEmpty();
    HttpResponse<byte[]> moved = h1("/moved");
    assertThat(moved.statusCode()).isEqualTo(301);
    assertThat(moved.headers().firstValue("location")).hasValueSatisfying(l -> assertThat(l).endsWith("/new"));
    assertThat(moved.headers().allValues("x-route")).containsExactly("moved");
    assertThat(moved.headers().allValues("x-vhost")).containsExactly("v");
  }

  @Test
  void http2SendsBinaryAndNonAsciiBodiesByteExact() throws Exception {
    byte[] utf8 = TEXT.getBytes(StandardCharsets.UTF_8);
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse b = h2(client, "/binary");
      try {
        assertThat(b.status().code()).isEqualTo(200);
        assertThat(ByteBufUtil.getBytes(b.content())).containsExactly(BINARY);
        assertThat(b.headers().get("content-length")).isEqualTo("4");
        assertThat(b.headers().get("content-type")).isEqualTo("text/plain");
      } finally {
        b.release();
      }
      FullHttpResponse t = h2(client, "/text");
      try {
        assertThat(t.status().code()).isEqualTo(201);
        assertThat(ByteBufUtil.getBytes(t.content())).containsExactly(utf8);
        assertThat(t.headers().get("content-length")).isEqualTo(String.valueOf(utf8.length));
      } finally {
        t.release();
      }
    }
    assertThat(logLines(2)).containsExactly("/binary HTTP/2 200 DR 4", "/text HTTP/2 201 DR " + utf8.length);
  }

  @Test
  void http2DirectResponsesAndRedirectsCarryTheResponseHeadersToAdd() throws Exception {
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse r = h2(client, "/binary");
      assertThat(r.headers().getAll("x-route")).containsExactly("r");
      assertThat(r.headers().getAll("x-vhost")).containsExactly("v");
      assertThat(r.headers().getAll("x-route-config")).containsExactly("rc");
      r.release();
      FullHttpResponse typed = h2(client, "/typed");
      assertThat(typed.headers().getAll("content-type")).containsExactly("application/json");
      typed.release();
      FullHttpResponse empty = h2(client, "/empty");
      assertThat(empty.status().code()).isEqualTo(204);
      assertThat(empty.headers().contains("x-drop")).isFalse();
      assertThat(empty.headers().getAll("x-keep")).containsExactly("k");
      empty.release();
      FullHttpResponse moved = h2(client, "/moved");
      assertThat(moved.status().code()).isEqualTo(301);
      assertThat(moved.headers().get("location")).endsWith("/new");
      assertThat(moved.headers().getAll("x-route")).containsExactly("moved");
      moved.release();
    }
  }

  @Test
  void theRoutersOwnRepliesCarryTheResponseHeadersToAddOverBothProtocols() throws Exception {
    HttpResponse<byte[]> r = h1("/dead");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().allValues("x-route")).containsExactly("dead");
    assertThat(r.headers().allValues("x-vhost")).containsExactly("v");
    assertThat(r.headers().allValues("x-route-config")).containsExactly("rc");
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain");
    try (H2Client client = new H2Client(proxy.port())) {
      FullHttpResponse h = h2(client, "/dead");
      try {
        assertThat(h.status().code()).isEqualTo(503);
        assertThat(h.headers().getAll("x-route")).containsExactly("dead");
        assertThat(h.headers().getAll("x-vhost")).containsExactly("v");
        assertThat(h.headers().getAll("x-route-config")).containsExactly("rc");
      } finally {
        h.release();
      }
    }
    assertThat(logLines(2)).satisfiesExactly(l -> assertThat(l).startsWith("/dead HTTP/1.1 503 UF "),
        l -> assertThat(l).startsWith("/dead HTTP/2 503 UF "));
  }
}
