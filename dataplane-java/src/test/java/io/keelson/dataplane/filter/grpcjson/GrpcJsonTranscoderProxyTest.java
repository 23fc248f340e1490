package io.keelson.dataplane.filter.grpcjson;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.grpc_json_transcoder through a real proxy (started from an Envoy bootstrap) to a real grpc-java
 * server over h2c, with curl as the REST client (HTTP/1.1, and HTTP/2 prior knowledge): path variables, query
 * parameters, a body field and body "*", a custom verb, gRPC errors as HTTP statuses (and as google.rpc.Status JSON),
 * server streaming as a JSON array seen to stream, requests the transcoder does not map passing through untouched,
 * bad JSON and an oversized body, with the policy stage inline and on the ring.
 */
class GrpcJsonTranscoderProxyTest {
  private static final String VHOSTS = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/bookstore.Bookstore/" }
                      route: { cluster: grpc }
                    - match: { prefix: "/" }
                      route: { cluster: web }
      """;

  @TempDir
  Path tmp;

  private ProxyHarness proxy(Bookstore grpc, TestUpstream web, PipelineMode mode, String extra) throws Exception {
    return proxy(grpc, web, mode, extra, VHOSTS);
  }

  private ProxyHarness proxy(Bookstore grpc, TestUpstream web, PipelineMode mode, String extra, String vhosts) throws Exception {
    Path set = tmp.resolve("bookstore.pb");
    Files.write(set, Bookstore.descriptorSet());
    String filters = """
                - name: envoy.filters.http.grpc_json_transcoder
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
                    proto_descriptor: "%s"
                    services: [bookstore.Bookstore]
      %s""".formatted(set, extra.isEmpty() ? "" : "              " + extra + "\n");
    String clusters = ProxyHarness.cluster("grpc", "ROUND_ROBIN", grpc.port())
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n")
        + ProxyHarness.cluster("web", "ROUND_ROBIN", web.port());
    return new ProxyHarness(ProxyHarness.bootstrap(vhosts, clusters, filters), mode);
  }

  record Reply(int status, Map<String, String> headers, String body) {}

  /** Runs curl with {@code args} before the URL; the reply's last status line, headers (lower case) and body. */
  static Reply curl(int port, String path, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "20"));
    cmd.addAll(List.of(args));
    cmd.add("http://127.0.0.1:" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    int split = out.indexOf("\r\n\r\n");
    assertThat(split).as(out).isPositive();
    String[] lines = out.substring(0, split).split("\r\n");
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int c = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
    }
    return new Reply(Integer.parseInt(lines[0].split(" ")[1]), headers, out.substring(split + 4));
  }

  private static String header(Metadata m, String name) {
    return m.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void getWithPathVariableAndQueryParametersIsAUnaryCall(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply r = curl(proxy.port(), "/v1/shelves/12?verbose=true&tag=a%20b");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers()).containsEntry("content-type", "application/json").containsEntry("grpc-status", "0");
      assertThat(r.body()).isEqualTo("{\"id\":\"12\",\"theme\":\"shelf 12 verbose tag a b\"}");
      assertThat(header(grpc.lastHeaders, "content-type")).isEqualTo("application/grpc");
      assertThat(header(grpc.lastHeaders, "x-envoy-original-path")).isEqualTo("/v1/shelves/12?verbose=true&tag=a%20b");
      assertThat(r.headers().get("content-length")).isEqualTo(Integer.toString(r.body().length()));
      assertThat(web.requests.get()).isZero();
      // The same path with DELETE is another method.
      assertThat(curl(proxy.port(), "/v1/shelves/13", "-X", "DELETE").body()).isEqualTo("{\"id\":\"13\",\"theme\":\"shelf 13 tag \"}");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void postBodyGoesIntoTheRulesFieldOverHttp2(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = proxy(grpc, web, mode, "print_options: { preserve_proto_field_names: true }")) {
      Reply r = curl(proxy.port(), "/v1/shelves", "--http2-prior-knowledge", "-H", "content-type: application/json",
          "-d", "{\"theme\":\"poetry\",\"genre\":\"FICTION\",\"shelfLabel\":\"P\"}");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"id\":\"7\",\"theme\":\"poetry\",\"genre\":\"FICTION\",\"shelf_label\":\"P\"}");
      // body "*" with a multi-segment variable ({name=shelves/*/books/**}), then a custom verb through a custom method.
      Reply patch = curl(proxy.port(), "/v1/shelves/3/books/deep/x", "-X", "PATCH", "-d", "{\"title\":\"T\"}");
      assertThat(patch.body()).isEqualTo("{\"name\":\"shelves/3/books/deep/x\",\"title\":\"T\"}");
      Reply merge = curl(proxy.port(), "/v1/shelves/3/books/9:merge", "-X", "MERGE", "-d", "{\"title\":\"M\"}");
      assertThat(merge.body()).isEqualTo("{\"name\":\"shelves/3/books/9\",\"title\":\"M\"}");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void requestsNoRuleMapsPassThroughUntouched(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply unknownPath = curl(proxy.port(), "/v1/other/1");
      assertThat(unknownPath.status()).isEqualTo(200);
      assertThat(web.requestLines).containsExactly("GET /v1/other/1 HTTP/1.1");
      // A query parameter that names no field: Envoy does not transcode the request.
      curl(proxy.port(), "/v1/shelves/1?color=red");
      assertThat(web.requestLines).last().isEqualTo("GET /v1/shelves/1?color=red HTTP/1.1");
      // A POST to a GET rule's path.
      curl(proxy.port(), "/v1/shelves/1", "-d", "{}");
      assertThat(web.requestLines).last().isEqualTo("POST /v1/shelves/1 HTTP/1.1");
      // A request that is gRPC already, on a rule's path.
      curl(proxy.port(), "/v1/shelves", "-H", "content-type: application/grpc", "-d", "x");
      assertThat(web.requestLines).last().isEqualTo("POST /v1/shelves HTTP/1.1");
      assertThat(web.lastHeaders).containsEntry("content-type", "application/grpc");
      assertThat(web.lastHeaders).doesNotContainKey("x-envoy-original-path");
      assertThat(grpc.lastHeaders).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void grpcErrorBecomesTheMappedHttpStatus(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply r = curl(proxy.port(), "/v1/shelves/404");
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.headers()).containsEntry("grpc-status", "5").containsEntry("grpc-message", "no shelf 404");
      assertThat(r.body()).isEmpty();
    }
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = proxy(grpc, web, mode, "convert_grpc_status: true")) {
      Reply r = curl(proxy.port(), "/v1/shelves/404");
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.headers()).containsEntry("content-type", "application/json").doesNotContainKey("grpc-status");
      assertThat(r.body()).isEqualTo("{\"code\":5,\"message\":\"no shelf 404\"}");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void serverStreamingIsAJsonArrayStreamedAsMessagesArrive(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Process p = new ProcessBuilder("curl", "-sS", "-N", "--max-time", "30", "http://127.0.0.1:" + proxy.port() + "/v1/shelves/5/books?limit=3")
          .redirectErrorStream(true).start();
      InputStream in = p.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      String second = "{\"name\":\"shelves/5/books/1\",\"title\":\"Book 1\"}";
      // The last book is held by the server until the client has seen the first two: they must stream.
      while (!got.toString(StandardCharsets.UTF_8).contains(second)) {
        int b = in.read();
        assertThat(b).as("stream ended early: " + got).isNotNegative();
        got.write(b);
      }
      grpc.releaseLastBook.countDown();
      got.writeBytes(in.readAllBytes());
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(got.toString(StandardCharsets.UTF_8)).isEqualTo("[{\"name\":\"shelves/5/books/0\",\"title\":\"Book 0\"}," + second
          + ",{\"name\":\"shelves/5/books/2\",\"title\":\"Book 2\"}]");
      Reply headers = curl(proxy.port(), "/v1/shelves/5/books?limit=1", "--http2-prior-knowledge");
      assertThat(headers.status()).isEqualTo(200);
      assertThat(headers.headers()).containsEntry("content-type", "application/json");
      // curl -i prints the HTTP/2 trailers after the body: they pass as the upstream sent them.
      assertThat(headers.body()).startsWith("[{\"name\":\"shelves/5/books/0\",\"title\":\"Book 0\"}]grpc-status: 0");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void badJsonIs400AndAnOversizedBodyIs413(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply bad = curl(proxy.port(), "/v1/shelves", "-d", "{\"theme\":");
      assertThat(bad.status()).isEqualTo(400);
      Reply unknownField = curl(proxy.port(), "/v1/shelves", "-d", "{\"nope\":1}");
      assertThat(unknownField.status()).isEqualTo(400);
      assertThat(unknownField.body()).contains("nope");
      Reply badValue = curl(proxy.port(), "/v1/shelves/abc");
      assertThat(badValue.status()).isEqualTo(400);
      Path big = tmp.resolve("big.json");
      Files.writeString(big, "{\"theme\":\"" + "x".repeat(1024 * 1024 + 10) + "\"}");
      Reply tooBig = curl(proxy.port(), "/v1/shelves", "--data-binary", "@" + big);
      assertThat(tooBig.status()).isEqualTo(413);
      assertThat(grpc.lastHeaders).isNull();
      // The proxy still serves.
      assertThat(curl(proxy.port(), "/v1/shelves/2").status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aBodyIsOneJsonValueThatCannotReachFieldsTheRuleDoesNotExpose(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      // body "shelf": the client's text is the shelf's value only; what follows it is a JSON error, not "requester"
      Reply injected = curl(proxy.port(), "/v1/shelves", "-d", "{\"theme\":\"p\"},\"requester\":\"mallory\"");
      assertThat(injected.status()).as(injected.body()).isEqualTo(400);
      Reply nested = curl(proxy.port(), "/v1/shelves", "-d", "{\"theme\":\"p\"}}, \"requester\": {\"x\":\"y\"");
      assertThat(nested.status()).isEqualTo(400);
      // body "*": a second value after the object is an error too, not ignored
      Reply second = curl(proxy.port(), "/v1/shelves/3/books/9", "-X", "PATCH", "-d", "{\"title\":\"T\"} {\"title\":\"U\"}");
      assertThat(second.status()).isEqualTo(400);
      assertThat(grpc.lastHeaders).isNull();
      Reply ok = curl(proxy.port(), "/v1/shelves", "-d", " {\"theme\":\"p\"} \n");
      assertThat(ok.status()).isEqualTo(200);
      assertThat(ok.body()).isEqualTo("{\"id\":\"7\",\"theme\":\"p\"}");
      assertThat((String) grpc.lastRequest.getField(grpc.lastRequest.getDescriptorForType().findFieldByName("requester"))).isEmpty();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aValueInTheBodyWinsOverThePathBindingOfTheSameField(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply r = curl(proxy.port(), "/v1/shelves/3/books/9", "-X", "PATCH", "-d", "{\"name\":\"shelves/1/books/1\",\"title\":\"T\"}");
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"name\":\"shelves/1/books/1\",\"title\":\"T\"}");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aRequestThatCannotBeTranscodedIsAnsweredBeforeAnUpstreamIsUsed(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode, "")) {
      Reply bad = curl(proxy.port(), "/v1/shelves", "-d", "{\"theme\":");
      assertThat(bad.status()).isEqualTo(400);
      assertThat(curl(proxy.port(), "/v1/shelves", "-d", "{\"nope\":1}", "--http2-prior-knowledge").status()).isEqualTo(400);
      assertThat(curl(proxy.port(), "/v1/shelves/abc").status()).isEqualTo(400);
      // local answers: no upstream request, connection or 4xx counted against the gRPC cluster (outlier detection,
      // retries and the access log's upstream host never see them), as Envoy answers before routing
      assertThat(proxy.stat("cluster.grpc.upstream_rq_total")).isZero();
      assertThat(proxy.stat("cluster.grpc.upstream_cx_total")).isZero();
      assertThat(grpc.lastHeaders).isNull();
      assertThat(bad.body()).startsWith("invalid JSON body");
      assertThat(curl(proxy.port(), "/v1/shelves/2").status()).isEqualTo(200);
      assertThat(proxy.stat("cluster.grpc.upstream_rq_total")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void validationOptionsRejectUnknownMethodsAndQueryParameters(PipelineMode mode) throws Exception {
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web"); ProxyHarness proxy = proxy(grpc, web, mode,
        "request_validation_options: { reject_unknown_method: true, reject_unknown_query_parameters: true }\n"
            + "              ignored_query_parameters: [api_key]")) {
      assertThat(curl(proxy.port(), "/v1/other").status()).isEqualTo(404);
      assertThat(curl(proxy.port(), "/v1/shelves/1?color=red").status()).isEqualTo(400);
      assertThat(curl(proxy.port(), "/v1/shelves/1?api_key=k").status()).isEqualTo(200);
      assertThat(web.requests.get()).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void theRouteIsChosenOnTheGrpcPathUnlessMatchIncomingRequestRoute(PipelineMode mode) throws Exception {
    String restOnly = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/v1/" }
                      route: { cluster: grpc }
      """;
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = proxy(grpc, web, mode, "", restOnly)) {
      assertThat(curl(proxy.port(), "/v1/shelves/1").status()).isEqualTo(404); // no route for /bookstore.Bookstore/GetShelf
      assertThat(grpc.lastHeaders).isNull();
    }
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = proxy(grpc, web, mode, "match_incoming_request_route: true", restOnly)) {
      Reply r = curl(proxy.port(), "/v1/shelves/1");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("{\"id\":\"1\",\"theme\":\"shelf 1 tag \"}");
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aTranscodedRequestRoutedToAnHttp1ClusterIs503AndCounted(PipelineMode mode) throws Exception {
    String toWeb = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route: { cluster: web }
      """;
    try (Bookstore grpc = new Bookstore(); TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = proxy(grpc, web, mode, "", toWeb)) {
      Reply h1 = curl(proxy.port(), "/v1/shelves/12");
      assertThat(h1.status()).isEqualTo(503);
      assertThat(h1.body()).contains("is not HTTP/2", "http2_protocol_options");
      Reply h2 = curl(proxy.port(), "/v1/shelves", "--http2-prior-knowledge", "-d", "{\"theme\":\"t\"}");
      assertThat(h2.status()).isEqualTo(503);
      assertThat(h2.body()).contains("is not HTTP/2");
      assertThat(web.requests.get()).as("nothing sent untranscoded").isZero();
      assertThat(grpc.lastHeaders).isNull();
      assertThat(proxy.admin("/stats")).contains("cluster.web.grpc_json_transcoder_upstream_not_http2: 2");
      // A request the transcoder does not map still goes to the HTTP/1.1 cluster.
      assertThat(curl(proxy.port(), "/static/page").status()).isEqualTo(200);
      assertThat(web.requests.get()).isEqualTo(1);
    }
  }
}
