package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.grpc_web through a real proxy (started from an Envoy bootstrap) to a real grpc-java server over
 * h2c: gRPC-Web clients over HTTP/1.1 (a plain socket, chunked both ways) and HTTP/2 (curl), binary and -text,
 * unary, server streaming (seen to stream while the call is still open), error statuses, bad base64, with the
 * policy stage inline and on the ring.
 */
class GrpcWebProxyTest {
  private static final String FILTERS = """
                - name: envoy.filters.http.grpc_web
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
      """;
  private static final String VHOSTS = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/test.Echo/" }
                      route: { cluster: grpc }
                    - match: { prefix: "/dead.Service/" }
                      route: { cluster: dead }
      """;

  @TempDir
  Path tmp;

  private static ProxyHarness proxy(GrpcEcho server, PipelineMode mode) throws Exception {
    String cluster = (ProxyHarness.cluster("grpc", "ROUND_ROBIN", server.port())
        + ProxyHarness.cluster("dead", "ROUND_ROBIN", io.keelson.dataplane.testing.TestUpstream.closedPort()))
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
    return new ProxyHarness(ProxyHarness.bootstrap(VHOSTS, cluster, FILTERS), mode);
  }

  /** A gRPC(-Web) length-prefixed message frame. */
  static byte[] frame(int flags, byte[] payload) {
    byte[] f = new byte[5 + payload.length];
    f[0] = (byte) flags;
    f[1] = (byte) (payload.length >>> 24);
    f[2] = (byte) (payload.length >>> 16);
    f[3] = (byte) (payload.length >>> 8);
    f[4] = (byte) payload.length;
    System.arraycopy(payload, 0, f, 5, payload.length);
    return f;
  }

  static byte[] message(String s) {
    return frame(0, s.getBytes(StandardCharsets.UTF_8));
  }

  /** One parsed gRPC-Web frame: a message (flags 0) or the trailer frame (flags 0x80). */
  record Frame(int flags, String payload) {}

  static List<Frame> frames(byte[] body) {
    List<Frame> out = new ArrayList<>();
    int i = 0;
    while (i < body.length) {
      assertThat(body.length - i).as("a whole frame header").isGreaterThanOrEqualTo(5);
      int len = ((body[i + 1] & 0xff) << 24) | ((body[i + 2] & 0xff) << 16) | ((body[i + 3] & 0xff) << 8) | (body[i + 4] & 0xff);
      out.add(new Frame(body[i] & 0xff, new String(body, i + 5, len, StandardCharsets.ISO_8859_1)));
      i += 5 + len;
    }
    return out;
  }

  /** Decodes base64 quad by quad (each chunk the proxy sends is padded on its own, as gRPC-Web clients decode). */
  static byte[] decodeText(String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(text.length() % 4).as("whole quads").isZero();
    for (int i = 0; i < text.length(); i += 4) {
      out.writeBytes(Base64.getDecoder().decode(text.substring(i, i + 4)));
    }
    return out.toByteArray();
  }

  // ---- HTTP/1.1 downstream: a plain socket

  /** A response read off a socket: status, lower-case headers, and the body bytes (chunked, or content-length). */
  record Http1Response(int status, Map<String, String> headers, byte[] body) {}

  static final class Http1 implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final OutputStream out;

    Http1(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      in = new DataInputStream(socket.getInputStream());
      out = socket.getOutputStream();
    }

    /** Sends a POST whose body goes out as chunks of the given sizes (the last chunk takes the rest). */
    void post(String path, String contentType, String accept, byte[] body, int... chunkSizes) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.writeBytes(("POST " + path + " HTTP/1.1\r\nHost: web.example\r\ncontent-type: " + contentType + "\r\n"
          + (accept == null ? "" : "accept: " + accept + "\r\n") + "x-grpc-web: 1\r\nx-user-agent: grpc-web-javascript/0.1\r\n"
          + "transfer-encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      int at = 0;
      for (int size : chunkSizes) {
        size = Math.min(size, body.length - at);
        chunk(b, body, at, size);
        at += size;
      }
      chunk(b, body, at, body.length - at);
      b.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.write(b.toByteArray());
      out.flush();
    }

    private static void chunk(ByteArrayOutputStream b, byte[] body, int at, int size) {
      if (size > 0) {
        b.writeBytes((Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        b.write(body, at, size);
        b.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      }
    }

    Map<String, String> headers(int[] status) throws IOException {
      status[0] = Integer.parseInt(line().split(" ")[1]);
      Map<String, String> h = new LinkedHashMap<>();
      for (String l = line(); !l.isEmpty(); l = line()) {
        int c = l.indexOf(':');
        h.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
      }
      return h;
    }

    /** The next body chunk of a chunked response; empty at its end. */
    byte[] nextChunk() throws IOException {
      int size = Integer.parseInt(line().split(";")[0].trim(), 16);
      byte[] data = in.readNBytes(size);
      line();
      if (size == 0) {
        return data;
      }
      return data;
    }

    Http1Response read() throws IOException {
      int[] status = new int[1];
      Map<String, String> h = headers(status);
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (h.containsKey("content-length")) {
        body.writeBytes(in.readNBytes(Integer.parseInt(h.get("content-length"))));
      } else {
        assertThat(h.get("transfer-encoding")).isEqualToIgnoringCase("chunked");
        for (byte[] c = nextChunk(); c.length > 0; c = nextChunk()) {
          body.writeBytes(c);
        }
      }
      return new Http1Response(status[0], h, body.toByteArray());
    }

    String line() throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c == -1) {
          throw new IOException("closed mid-line");
        }
        b.write(c);
      }
      String s = b.toString(StandardCharsets.ISO_8859_1);
      return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1UnaryIsBridgedWithTheTrailersAsTheLastFrame(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/test.Echo/Unary", "application/grpc-web+proto", null, message("hello"));
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
      assertThat(frames(r.body())).containsExactly(new Frame(0, "hello"), new Frame(0x80, "grpc-status:0\r\n"));
      // What the gRPC server saw: a gRPC call, with the gRPC-Web client's own headers passed on.
      assertThat(server.lastHeaders.get(key("content-type"))).isEqualTo("application/grpc");
      assertThat(server.lastHeaders.get(key("x-grpc-web"))).isEqualTo("1");
      assertThat(server.lastHeaders.get(key("x-user-agent"))).isEqualTo("grpc-web-javascript/0.1");
      assertThat(server.lastHeaders.get(key("grpc-accept-encoding"))).isEqualTo("identity,deflate,gzip");
      // The connection stays usable for the next call.
      client.post("/test.Echo/Unary", "application/grpc-web", null, message("again"));
      assertThat(frames(client.read().body())).first().isEqualTo(new Frame(0, "again"));
    }
  }

  private static io.grpc.Metadata.Key<String> key(String name) {
    return io.grpc.Metadata.Key.of(name, io.grpc.Metadata.ASCII_STRING_MARSHALLER);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1ErrorStatusComesAsATrailersOnlyResponse(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/test.Echo/Unary", "application/grpc-web+proto", null, message("fail:no such thing"));
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
      assertThat(r.headers().get("grpc-status")).isEqualTo("5");
      assertThat(r.headers().get("grpc-message")).isEqualTo("no such thing");
      assertThat(r.body()).isEmpty();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1ServerStreamingStreamsEachMessageAsItComes(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/test.Echo/Count", "application/grpc-web+proto", null, message("forever"));
      int[] status = new int[1];
      Map<String, String> h = client.headers(status);
      assertThat(status[0]).isEqualTo(200);
      assertThat(h.get("content-type")).isEqualTo("application/grpc-web+proto");
      // The call never ends: each tick must reach the client on its own while it is open.
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      while (frames(wholeFrames(got)).size() < 3) {
        byte[] c = client.nextChunk();
        assertThat(c).as("the stream is still open").isNotEmpty();
        got.writeBytes(c);
      }
      assertThat(frames(wholeFrames(got)).subList(0, 3))
          .containsExactly(new Frame(0, "tick 0"), new Frame(0, "tick 1"), new Frame(0, "tick 2"));
      client.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> server.cancelled.get() == 1);
    }
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/test.Echo/Count", "application/grpc-web+proto", null, message("3"));
      assertThat(frames(client.read().body())).containsExactly(new Frame(0, "0"), new Frame(0, "1"), new Frame(0, "2"),
          new Frame(0x80, "grpc-status:0\r\n"));
    }
  }

  /** The prefix of {@code b} that holds whole frames. */
  private static byte[] wholeFrames(ByteArrayOutputStream b) {
    byte[] all = b.toByteArray();
    int i = 0;
    while (all.length - i >= 5) {
      int len = ((all[i + 1] & 0xff) << 24) | ((all[i + 2] & 0xff) << 16) | ((all[i + 3] & 0xff) << 8) | (all[i + 4] & 0xff);
      if (all.length - i - 5 < len) {
        break;
      }
      i += 5 + len;
    }
    return java.util.Arrays.copyOf(all, i);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1TextModeDecodesAcrossChunkBoundariesAndEncodesTheResponse(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      String payload = "text mode, split at odd places";
      byte[] base64 = Base64.getEncoder().encode(message(payload));
      // Chunks of 1, 2, 5 and 3 characters: quads cut everywhere.
      client.post("/test.Echo/Unary", "application/grpc-web-text", "application/grpc-web-text", base64, 1, 2, 5, 3, 7);
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).isEqualTo("application/grpc-web-text+proto");
      String text = new String(r.body(), StandardCharsets.US_ASCII);
      assertThat(text).matches("[A-Za-z0-9+/=]+");
      assertThat(frames(decodeText(text))).containsExactly(new Frame(0, payload), new Frame(0x80, "grpc-status:0\r\n"));
      assertThat(server.lastUnary).isEqualTo(payload);

      // A -text request whose client wants a binary answer.
      client.post("/test.Echo/Count", "application/grpc-web-text+proto", "application/grpc-web", Base64.getEncoder().encode(message("2")), 6);
      Http1Response binary = client.read();
      assertThat(binary.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
      assertThat(frames(binary.body())).containsExactly(new Frame(0, "0"), new Frame(0, "1"), new Frame(0x80, "grpc-status:0\r\n"));
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http1BadBase64GetsEnvoys400AndTheServerNoCall(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/test.Echo/Unary", "application/grpc-web-text", null, "AAAA*AAA".getBytes(StandardCharsets.US_ASCII));
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(400);
      assertThat(new String(r.body(), StandardCharsets.US_ASCII)).isEqualTo("Bad gRPC-web request, invalid base64 data.");
      assertThat(server.lastUnary).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void proxysOwnReplyIsAGrpcWebTrailersOnlyResponse(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/dead.Service/Call", "application/grpc-web-text", "application/grpc-web-text",
          Base64.getEncoder().encode(message("x")));
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).isEqualTo("application/grpc-web-text+proto");
      assertThat(r.headers().get("grpc-status")).isEqualTo("14");
      assertThat(r.headers().get("grpc-message")).startsWith("upstream connect error");
      assertThat(r.body()).isEmpty();

      // Not curl: the proxy answers at the request's HEADERS (the cluster is dead), then resets the stream with
      // NO_ERROR (RFC 9113 §8.1, as Envoy); curl 7.88 fails the transfer (exit 92 or 52) when that overtakes the DATA
      // it still had to send, which a loaded machine allows. Netty's client sends HEADERS and DATA in one write.
      try (H2Client h2 = new H2Client(proxy.port())) {
        var post = new io.netty.handler.codec.http.DefaultFullHttpRequest(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
            io.netty.handler.codec.http.HttpMethod.POST, "/dead.Service/Call",
            io.netty.buffer.Unpooled.wrappedBuffer(message("x")));
        post.headers().set("content-type", "application/grpc-web+proto").set("x-grpc-web", "1");
        io.netty.handler.codec.http.FullHttpResponse r2 = h2.send(post).get(10, TimeUnit.SECONDS);
        try {
          assertThat(r2.status().code()).isEqualTo(200);
          assertThat(r2.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
          assertThat(r2.headers().get("grpc-status")).isEqualTo("14");
          assertThat(r2.content().readableBytes()).isZero();
        } finally {
          r2.release();
        }
      }
    }
  }

  /** As Envoy: a local_reply_config mapper's new status decides the gRPC-Web reply's grpc-status on HTTP/1.1 too. */
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aLocalReplyMappersRewrittenStatusDecidesTheGrpcStatusOverHttp1(PipelineMode mode) throws Exception {
    String cluster = (ProxyHarness.cluster("grpc", "ROUND_ROBIN", 9)
        + ProxyHarness.cluster("dead", "ROUND_ROBIN", io.keelson.dataplane.testing.TestUpstream.closedPort()))
        .replace("    type: STATIC\n", "    type: STATIC\n    http2_protocol_options: {}\n");
    String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap(VHOSTS, cluster, FILTERS), """
        local_reply_config:
          mappers:
          - filter: { status_code_filter: { comparison: { op: EQ, value: { default_value: 503 } } } }
            status_code: 401
        """);
    try (ProxyHarness proxy = new ProxyHarness(yaml, mode); Http1 client = new Http1(proxy.port())) {
      client.post("/dead.Service/Call", "application/grpc-web+proto", "application/grpc-web+proto", message("x"));
      Http1Response r = client.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("grpc-status")).as("httpToGrpcStatus(401) UNAUTHENTICATED, not the dead cluster's UNAVAILABLE").isEqualTo("16");
    }
  }

  /**
   * The proxy's own reply while the request body is still to come: the complete (trailers-only) response, then
   * RST_STREAM(NO_ERROR) asking the client to stop sending (RFC 9113 §8.1, Envoy's reset of a stream whose response
   * ended first); the body that still arrives is dropped and the connection keeps serving.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void proxysOwnReplyBeforeTheBodyEndsTheStreamWithNoErrorAndKeepsTheConnection(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode); RawH2 client = new RawH2(proxy.port())) {
      client.frame(RawH2.HEADERS, RawH2.END_HEADERS, 1, client.headerBlock("POST", "/dead.Service/Call",
          "content-type", "application/grpc-web+proto", "x-grpc-web", "1"));
      RawH2.Frame reset = client.await(f -> f.type() == RawH2.RST_STREAM && f.stream() == 1, Duration.ofSeconds(10));
      assertThat(reset).as("a reset once the response is out").isNotNull();
      assertThat(reset.errorCode()).isZero();
      List<RawH2.Frame> onStream = client.frames.stream().filter(f -> f.stream() == 1).toList();
      assertThat(onStream.getFirst().type()).as("the response first").isEqualTo(RawH2.HEADERS);
      assertThat(onStream.getFirst().flags() & RawH2.END_STREAM).as("trailers-only").isEqualTo(RawH2.END_STREAM);
      assertThat(client.statuses(1)).containsExactly("200");

      client.frame(RawH2.DATA, RawH2.END_STREAM, 1, message("late"));
      client.get(3, "/dead.Service/Call");
      assertThat(client.await(f -> f.type() == RawH2.HEADERS && f.stream() == 3, Duration.ofSeconds(10)))
          .as("the connection still serves").isNotNull();
      assertThat(client.frames).noneMatch(f -> f.type() == RawH2.GOAWAY);
      assertThat(client.frames).filteredOn(f -> f.type() == RawH2.RST_STREAM && f.stream() == 1)
          .allMatch(f -> f.errorCode() == 0 || f.errorCode() == 5); // STREAM_CLOSED for the late DATA: Netty's answer
    }
  }

  // ---- HTTP/2 downstream: curl

  private record CurlResult(Map<String, String> headers, byte[] body) {}

  private CurlResult curlH2(int port, String path, String contentType, String accept, byte[] body) throws Exception {
    Path in = Files.write(tmp.resolve("req-" + System.nanoTime()), body);
    Path out = tmp.resolve("resp-" + System.nanoTime());
    Path head = tmp.resolve("head-" + System.nanoTime());
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
        "-H", "content-type: " + contentType, "-H", "x-grpc-web: 1", "--data-binary", "@" + in, "-o", out.toString(),
        "-D", head.toString()));
    if (accept != null) {
      cmd.addAll(List.of("-H", "accept: " + accept));
    }
    cmd.add("http://127.0.0.1:" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    Map<String, String> h = new LinkedHashMap<>();
    for (String l : Files.readAllLines(head, StandardCharsets.ISO_8859_1)) {
      int c = l.indexOf(':');
      if (l.startsWith("HTTP/2")) {
        h.put(":status", l.split(" ")[1]);
      } else if (c > 0) {
        h.put(l.substring(0, c).trim().toLowerCase(Locale.ROOT), l.substring(c + 1).trim());
      }
    }
    return new CurlResult(h, Files.readAllBytes(out));
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void http2UnaryStreamingErrorAndTextModeFromCurl(PipelineMode mode) throws Exception {
    try (GrpcEcho server = new GrpcEcho(); ProxyHarness proxy = proxy(server, mode)) {
      CurlResult unary = curlH2(proxy.port(), "/test.Echo/Unary", "application/grpc-web+proto", null, message("over h2"));
      assertThat(unary.headers().get(":status")).isEqualTo("200");
      assertThat(unary.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
      assertThat(frames(unary.body())).containsExactly(new Frame(0, "over h2"), new Frame(0x80, "grpc-status:0\r\n"));

      CurlResult stream = curlH2(proxy.port(), "/test.Echo/Count", "application/grpc-web", null, message("3"));
      assertThat(frames(stream.body())).containsExactly(new Frame(0, "0"), new Frame(0, "1"), new Frame(0, "2"),
          new Frame(0x80, "grpc-status:0\r\n"));

      CurlResult error = curlH2(proxy.port(), "/test.Echo/Unary", "application/grpc-web+proto", null, message("fail:gone"));
      assertThat(error.headers().get("grpc-status")).isEqualTo("5");
      assertThat(error.headers().get("grpc-message")).isEqualTo("gone");
      assertThat(error.headers().get("content-type")).isEqualTo("application/grpc-web+proto");

      CurlResult text = curlH2(proxy.port(), "/test.Echo/Unary", "application/grpc-web-text", "application/grpc-web-text",
          Base64.getEncoder().encode(message("text over h2")));
      assertThat(text.headers().get("content-type")).isEqualTo("application/grpc-web-text+proto");
      assertThat(frames(decodeText(new String(text.body(), StandardCharsets.US_ASCII))))
          .containsExactly(new Frame(0, "text over h2"), new Frame(0x80, "grpc-status:0\r\n"));
    }
  }
}
