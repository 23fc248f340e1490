package io.keelson.dataplane.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The connection manager's local_reply_config over real sockets: curl over HTTP/1.1 and h2c (prior knowledge), both
 * pipeline wirings. A dead cluster's 503 gets a JSON body, a no-route 404 becomes a 418, a header_filter mapper takes its
 * body from a file, an RBAC 403 goes through the same mappers, a gRPC call keeps its trailers-only form with the grpc-status
 * of the rewritten code, an upstream's own 503 is left alone and the access log records the rewritten code.
 */
class LocalReplyProxyTest {
  private static final String ROUTES = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/x" }
                        route: { cluster: dead }
                      - match: { prefix: "/admin" }
                        route: { cluster: backend }
                      - match: { prefix: "/status" }
                        route: { cluster: backend }
                      - match: { prefix: "/gone" }
                        direct_response: { status: 410, body: { inline_string: "gone" } }
                        response_headers_to_add: [ { header: { key: content-type, value: text/html } } ]
        """;
  private static final String LOCAL_REPLY_CONFIG = """
      local_reply_config:
        mappers:
        - filter: { header_filter: { header: { name: x-debug, present_match: true } } }
          body: { filename: %s }
          headers_to_add: [ { header: { key: x-local-reply, value: debug } } ]
          body_format_override: { text_format: "debug: %%LOCAL_REPLY_BODY%% (%%RESPONSE_CODE%%)", content_type: text/x-debug }
        - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 404 } } } }
          status_code: 418
          body: { inline_string: "short and stout" }
          body_format_override: { text_format: "%%LOCAL_REPLY_BODY%% at %%REQ(:path)%%" }
        - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 403 } } } }
          headers_to_add: [ { header: { key: x-denied-by, value: rbac } } ]
          body_format_override: { text_format: "denied: %%LOCAL_REPLY_BODY%%" }
        body_format:
          json_format: { code: "%%RESPONSE_CODE%%", path: "%%REQ(:path)%%" }
      """;
  private static final String[] HTTP_VERSIONS = {"--http1.1", "--http2-prior-knowledge"};

  @TempDir
  Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void localRepliesAreRewrittenOnBothProtocolsAndUpstreamResponsesAreNot(PipelineMode mode) throws Exception {
    TestUpstream backend = new TestUpstream("backend");
    open.add(backend);
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort(); // closed again: connections to it are refused
    }
    Path body = Files.writeString(dir.resolve("debug-body.txt"), "from a file");
    Path log = dir.resolve("access.log");
    String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("backend", "ROUND_ROBIN", backend.port())
            + ProxyHarness.cluster("dead", "ROUND_ROBIN", deadPort), ProxyHarness.rbacDenyPrefix("/admin")),
        LOCAL_REPLY_CONFIG.formatted(body), ProxyHarness.fileAccessLog(log, "%RESPONSE_CODE% %REQ(:path)%\\n"));
    ProxyHarness proxy = new ProxyHarness(yaml, mode);
    open.add(proxy);
    String base = "http://127.0.0.1:" + proxy.port();
    for (String version : HTTP_VERSIONS) {
      assertReply(curl(version, base + "/x"), version, 503, "{\"code\":503,\"path\":\"/x\"}\n",
          "content-type", "application/json", "content-length", "25");
      assertReply(curl(version, base + "/nothing"), version, 418, "short and stout at /nothing",
          "content-type", "text/plain", "content-length", "27");
      assertReply(curl(version, "-H", "x-debug: 1", base + "/x"), version, 503, "debug: from a file (503)",
          "content-type", "text/x-debug", "x-local-reply", "debug");
      assertReply(curl(version, base + "/admin"), version, 403, "denied: RBAC: access denied", "x-denied-by", "rbac");
      // a direct_response is a local reply too; its new body's type replaces the route's content-type, as Envoy
      assertReply(curl(version, base + "/gone"), version, 410, "{\"code\":410,\"path\":\"/gone\"}\n",
          "content-type", "application/json");
      Reply upstream503 = curl(version, base + "/status/503");
      assertThat(upstream503.status).as(version).isEqualTo(503);
      assertThat(upstream503.body).as(version).startsWith("GET /status/503");
      assertThat(upstream503.headers).as(version).doesNotContainKey("x-local-reply");
    }

    // gRPC: Envoy rewrites first, then answers trailers-only with grpc-status from the (rewritten) code and the body as
    // grpc-message (without the JSON format's newline)
    Reply grpcDead = grpcCall(base + "/x");
    assertThat(grpcDead.status).isEqualTo(200);
    assertThat(grpcDead.headers).containsEntry("content-type", "application/grpc").containsEntry("grpc-status", "14")
        .containsEntry("grpc-message", "{\"code\":503,\"path\":\"/x\"}");
    Reply grpcNoRoute = grpcCall(base + "/nothing");
    assertThat(grpcNoRoute.status).isEqualTo(200);
    assertThat(grpcNoRoute.headers).containsEntry("grpc-status", "2") // httpToGrpcStatus(418): UNKNOWN
        .containsEntry("grpc-message", "short and stout at /nothing");
    assertThat(grpcNoRoute.body).isEmpty();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    // the gRPC call's entry (its HTTP status is 200) is the last one written
    while (System.nanoTime() < deadline && (!Files.exists(log) || !Files.readString(log).contains("200 /nothing"))) {
      Thread.sleep(50); // polling the writer thread's file, not a timing assumption
    }
    assertThat(Files.readString(log)).contains("418 /nothing\n", "503 /x\n", "403 /admin\n").doesNotContain("404 /nothing");
  }

/** As Envoy's OVERWRITE_IF_EXISTS_OR_ADD: a mapper's header replaces the route's field of that name, one value each. */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aMappersOverwriteHeadersReplaceTheRoutesInsteadOfAddingASecondValue(PipelineMode mode) throws Exception {
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/gone" }
                        direct_response: { status: 410, body: { inline_string: "gone" } }
                        response_headers_to_add:
                        - header: { key: content-type, value: text/html }
                        - header: { key: x-tier, value: route }
                        - header: { key: x-kept, value: route }
        """;
    String localReplies = """
        local_reply_config:
          mappers:
          - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 410 } } } }
            headers_to_add:
            - { header: { key: content-type, value: text/x-mapped }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
            - { header: { key: x-tier, value: first }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
            - { header: { key: x-tier, value: mapped }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
            - { header: { key: x-kept, value: mapped } }
        """;
    ProxyHarness proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(routes,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", 9)), localReplies), mode);
    open.add(proxy);
    for (String version : HTTP_VERSIONS) {
      Reply r = curl(version, "http://127.0.0.1:" + proxy.port() + "/gone");
      assertThat(r.status).as(version).isEqualTo(410);
      assertThat(r.body).as(version).isEqualTo("gone");
      assertThat(r.all("content-type")).as(version).containsExactly("text/x-mapped");
      assertThat(r.all("x-tier")).as(version).containsExactly("mapped");
      if (version.equals("--http1.1")) { // an appended field adds a value (HTTP/2's reply replaces the route's fields)
        assertThat(r.all("x-kept")).as(version).containsExactly("route", "mapped");
      }
    }
  }

  private record Reply(int status, Map<String, String> headers, String body, String head) {
    /** The values of every field named {@code name} in the head, in order (the map keeps the last only). */
    List<String> all(String name) {
      return head.lines().skip(1).filter(l -> l.regionMatches(true, 0, name + ":", 0, name.length() + 1))
          .map(l -> l.substring(name.length() + 1).strip()).toList();
    }
  }

  private static void assertReply(Reply r, String version, int status, String body, String... headerPairs) {
    assertThat(r.status).as(version).isEqualTo(status);
    assertThat(r.body).as(version).isEqualTo(body);
    for (int i = 0; i < headerPairs.length; i += 2) {
      assertThat(r.headers).as(version).containsEntry(headerPairs[i], headerPairs[i + 1]);
    }
  }

  /** A unary gRPC call's request (an empty body) over h2c. */
  private static Reply grpcCall(String url) throws Exception {
    return curl("--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "", url);
  }

  /** Runs curl -i and splits its status, (last-wins, lower-case) headers and body. */
  private static Reply curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "10", "-i"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    int end = out.indexOf("\r\n\r\n");
    assertThat(end).as(out).isPositive();
    String[] lines = out.substring(0, end).split("\r\n");
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).toLowerCase(java.util.Locale.ROOT), lines[i].substring(colon + 1).strip());
    }
    return new Reply(Integer.parseInt(lines[0].split(" ")[1]), headers, out.substring(end + 4), out.substring(0, end));
  }
}
