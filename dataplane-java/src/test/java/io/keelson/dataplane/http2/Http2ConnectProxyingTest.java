package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.http2.Http2ConnectTerminationTest.ConnectStreamClient;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TcpEcho;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy's CONNECT proxying (a connect_matcher route without connect_config) over HTTP/2, with real sockets: an HTTP/2
 * client's CONNECT (a Netty frame-level client, RFC 9113 §8.5) through a forwarding Keelson to a second Keelson that
 * terminates CONNECT in front of an echo server, over an HTTP/1.1 cluster and over an HTTP/2 (h2c) one; an HTTP/1.1
 * client's CONNECT over the HTTP/2 cluster; a refusal relayed with its body from a small CONNECT proxy written here and
 * from the terminating Keelson; END_STREAM ↔ FIN; the breakers. The old code answered every one of these 503 (HTTP/2
 * client) or refused the HTTP/2 cluster as a config error.
 */
class Http2ConnectProxyingTest {
  private static final String HCM_CONNECT = "upgrade_configs: [ { upgrade_type: CONNECT } ]";
  private static final String H2 = "    http2_protocol_options: {}\n";

  private ProxyHarness forwarder;
  private ProxyHarness terminator;
  private TcpEcho echo;
  private io.keelson.dataplane.testing.H2FrameUpstream frames;

  @AfterEach
  void close() {
    for (AutoCloseable c : new AutoCloseable[] {forwarder, terminator, echo, frames}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  /** The terminating proxy: CONNECT to denied.test:1 gets a 403 with a body, any other is terminated toward {@code target}. */
  private static String terminating(int target) {
    String denied = """
                    - name: denied
                      domains: ["denied.test:1"]
                      routes:
                      - match: { connect_matcher: {} }
                        direct_response: { status: 403, body: { inline_string: "no tunnels to denied.test" } }
        """;
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(denied + Http2ConnectTerminationTest.CONNECT_ROUTES,
        ProxyHarness.cluster("target", "ROUND_ROBIN", target)), HCM_CONNECT);
  }

  private void startChain(PipelineMode mode, String clusterExtra, Path log) throws Exception {
    echo = new TcpEcho();
    terminator = new ProxyHarness(terminating(echo.port()), mode);
    forwarder = new ProxyHarness(io.keelson.dataplane.http1.ConnectProxyingTest.forwarding(terminator.port(), clusterExtra,
        log != null ? log : Files.createTempFile("h2-connect-proxying", ".log")), mode);
  }

  private static byte[] payload(int n) {
    byte[] p = new byte[n];
    for (int i = 0; i < n; i++) {
      p[i] = (byte) (i * 37 + (i >> 8)); // every byte value
    }
    return p;
  }

  /** Sends {@code payload} as DATA frames then END_STREAM; returns what came back up to the stream's END_STREAM. */
  private static byte[] echoThrough(ConnectStreamClient c, byte[] payload) throws Exception {
    for (int off = 0; off < payload.length; off += 16_000) {
      c.stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(payload, off, Math.min(16_000, payload.length - off)),
          false));
    }
    c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true)); // END_STREAM: a FIN beyond
    return c.ended.get(30, TimeUnit.SECONDS); // the echo's FIN, come back as END_STREAM
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp2ClientsConnectGoesToAnHttp11ClusterAsARequestLineAndEndStreamAndFinPassBothWays(PipelineMode mode)
      throws Exception {
    Path log = Files.createTempFile("h2-connect-proxying", ".log");
    startChain(mode, "", log);
    byte[] payload = payload(300_000); // beyond the 64 KiB windows: flow control both ways
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "echo.test:7");
      Http2HeadersFrame head = c.head.get(10, TimeUnit.SECONDS);
      assertThat(head.headers().status().toString()).isEqualTo("200");
      assertThat(head.isEndStream()).isFalse();
      assertThat(head.headers().get("x-forwarder").toString()).isEqualTo("saw-it"); // the route's response rules
      assertThat(echoThrough(c, payload)).isEqualTo(payload);
    }
    assertThat(echo.finsSeen.get()).as("the client's END_STREAM reached the echo as a FIN").isEqualTo(1);
    assertThat(forwarder.stat("cluster.next.upstream_rq_2xx")).isEqualTo(1);
    assertThat(forwarder.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
    assertThat(terminator.stat("cluster.target.upstream_rq_2xx")).isEqualTo(1);
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log))
        .isEqualTo("CONNECT echo.test:7 200 300000 300000\n"));
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp2ClientsConnectGoesToAnHttp2ClusterAsAConnectStreamAndEndStreamPassesBothWays(PipelineMode mode)
      throws Exception {
    startChain(mode, H2, null);
    byte[] payload = payload(300_000);
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      assertThat(echoThrough(c, payload)).isEqualTo(payload);
      ConnectStreamClient again = ConnectStreamClient.open(client, "echo.test:7"); // a second stream, same h2 connection
      assertThat(again.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      assertThat(echoThrough(again, "twice".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("twice");
    }
    assertThat(echo.finsSeen.get()).isEqualTo(2);
    assertThat(forwarder.stat("cluster.next.upstream_cx_total")).as("both CONNECT streams on one pooled connection")
        .isEqualTo(1);
    assertThat(forwarder.stat("cluster.next.upstream_rq_2xx")).isEqualTo(2);
    assertThat(terminator.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp11ClientsConnectGoesToAnHttp2ClusterAsAConnectStreamAndItsFinIsEndStream(PipelineMode mode) throws Exception {
    startChain(mode, H2, null);
    byte[] payload = payload(200_000);
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write("CONNECT echo.test:7 HTTP/1.1\r\nHost: echo.test:7\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String head = io.keelson.dataplane.testing.RawHttp.readHead(in);
      assertThat(head).startsWith("HTTP/1.1 200").contains("x-forwarder: saw-it");
      assertThat(head.toLowerCase(java.util.Locale.ROOT)).doesNotContain("content-length").doesNotContain("chunked");
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          out.write(payload);
          out.flush();
          s.shutdownOutput(); // the FIN: END_STREAM on the upstream stream, a FIN to the echo beyond
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(in.readAllBytes()).isEqualTo(payload); // until the echo's FIN, come back as END_STREAM then a FIN
      writer.join(10_000);
    }
    assertThat(echo.finsSeen.get()).isEqualTo(1);
    assertThat(forwarder.stat("cluster.next.upstream_rq_2xx")).isEqualTo(1);
    assertThat(terminator.stat("cluster.target.upstream_rq_2xx")).isEqualTo(1);
  }

  /** A CONNECT proxy of its own (plain sockets): answers every CONNECT 403 with a body, after noting its head. */
  private static final class RefusingConnectProxy implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    final CompletableFuture<String> head = new CompletableFuture<>();

    RefusingConnectProxy() throws Exception {
      this("no tunnels to there :(");
    }

    RefusingConnectProxy(String body) throws Exception {
      Thread.ofVirtual().start(() -> {
        try (Socket s = server.accept()) {
          head.complete(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream()));
          s.getOutputStream().write(("HTTP/1.1 403 Forbidden\r\ncontent-type: text/x-policy\r\ncontent-length: "
              + body.length() + "\r\nx-policy: tunnels-off\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          s.getInputStream().readAllBytes(); // until the proxy closes
        } catch (Exception e) {
          head.completeExceptionally(e);
        }
      });
    }

    @Override
    public void close() throws Exception {
      server.close();
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRefusalFromAnHttp11ProxyIsRelayedToTheHttp2ClientWithItsBody(PipelineMode mode) throws Exception {
    try (RefusingConnectProxy upstream = new RefusingConnectProxy()) {
      assertThat(refusalThroughTheForwarder(mode, upstream)).asString().isEqualTo("no tunnels to there :(");
      String seen = upstream.head.get(10, TimeUnit.SECONDS);
      assertThat(seen).startsWith("CONNECT example.test:443 HTTP/1.1\r\n");
      assertThat(seen.toLowerCase(java.util.Locale.ROOT)).contains("host: example.test:443")
          .doesNotContain("x-http2").doesNotContain("transfer-encoding");
    }
    assertThat(forwarder.stat("cluster.next.upstream_rq_4xx")).isEqualTo(1);
    assertThat(forwarder.stat("http.ingress_http.downstream_cx_upgrades_total")).isZero();
  }

  /** A refusal's body past 64 KiB is not passed on (nor waited for): its status and headers are, at once. */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRefusalWithABodyPast64KibIsRelayedWithoutIt(PipelineMode mode) throws Exception {
    try (RefusingConnectProxy upstream = new RefusingConnectProxy("x".repeat(100_000))) {
      assertThat(refusalThroughTheForwarder(mode, upstream)).isEmpty();
    }
  }

  /**
   * An HTTP/2 client's CONNECT through a forwarding Keelson to {@code upstream}: asserts its 403 and end-to-end fields,
   * returns the body the stream ended with.
   */
  private byte[] refusalThroughTheForwarder(PipelineMode mode, RefusingConnectProxy upstream) throws Exception {
    forwarder = new ProxyHarness(io.keelson.dataplane.http1.ConnectProxyingTest.forwarding(
        upstream.server.getLocalPort(), "", Files.createTempFile("h2-connect-proxying", ".log")), mode);
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "example.test:443");
      Http2HeadersFrame head = c.head.get(10, TimeUnit.SECONDS);
      assertThat(head.headers().status().toString()).isEqualTo("403");
      assertThat(head.headers().get("content-type").toString()).isEqualTo("text/x-policy");
      assertThat(head.headers().get("x-policy").toString()).isEqualTo("tunnels-off");
      return c.ended.get(10, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRefusalOverAnHttp2ClusterIsRelayedWithItsBodyToHttp2AndHttp11Clients(PipelineMode mode) throws Exception {
    startChain(mode, H2, null);
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "denied.test:1");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("403");
      assertThat(c.ended.get(10, TimeUnit.SECONDS)).asString().isEqualTo("no tunnels to denied.test");
    }
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("CONNECT denied.test:1 HTTP/1.1\r\nHost: denied.test:1\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 403").endsWith("\r\n\r\nno tunnels to denied.test");
    }
    assertThat(echo.connections.get()).isZero();
    assertThat(forwarder.stat("cluster.next.upstream_rq_4xx")).isEqualTo(2);
  }

  /**
   * As a terminated CONNECT from an HTTP/2 client: at {@code max_connections} (1) of the HTTP/1.1 cluster a second
   * CONNECT waits as pending for the first tunnel's connection and opens once it closes; a third finds
   * {@code max_pending_requests} (1) full and gets 503 UO.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aConnectAtMaxConnectionsWaitsAsPendingAndOverflowsBeyondMaxPending(PipelineMode mode) throws Exception {
    String breakers = "    circuit_breakers:\n      thresholds:\n      - { max_connections: 1, max_pending_requests: 1 }\n";
    startChain(mode, breakers, null);
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient first = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(first.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      ConnectStreamClient second = ConnectStreamClient.open(client, "echo.test:7");
      Awaitility.await().atMost(Duration.ofSeconds(10))
          .until(() -> forwarder.stat("cluster.next.upstream_cx_overflow") >= 1); // it waits for the slot
      assertThat(second.head).as("waiting as pending, not refused").isNotDone();
      ConnectStreamClient third = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(third.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("503");
      assertThat(forwarder.stat("cluster.next.upstream_rq_pending_overflow")).isEqualTo(1);
      assertThat(echoThrough(first, "one".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("one");
      assertThat(second.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      assertThat(echoThrough(second, "two".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("two");
    }
    assertThat(echo.connections.get()).isEqualTo(2);
  }

  /**
   * To an HTTP/2 cluster each CONNECT is a stream, bounded as any request by {@code max_requests} (1): a second CONNECT
   * while the first tunnel is open gets 503 UO at once; once that tunnel has closed the next opens, on the same pooled
   * connection.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void connectStreamsToAnHttp2ClusterAreBoundedByMaxRequests(PipelineMode mode) throws Exception {
    startChain(mode, H2 + "    circuit_breakers:\n      thresholds:\n      - { max_requests: 1 }\n", null);
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient first = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(first.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      ConnectStreamClient second = ConnectStreamClient.open(client, "echo.test:7");
      Http2HeadersFrame refused = second.head.get(10, TimeUnit.SECONDS);
      assertThat(refused.headers().status().toString()).isEqualTo("503");
      assertThat(refused.headers().get("x-envoy-overloaded").toString()).isEqualTo("true");
      assertThat(echoThrough(first, "one".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("one");
      Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        ConnectStreamClient next = ConnectStreamClient.open(client, "echo.test:7");
        assertThat(next.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
        assertThat(echoThrough(next, "two".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("two");
      });
    }
    assertThat(forwarder.stat("cluster.next.upstream_cx_total")).isEqualTo(1);
    assertThat(echo.connections.get()).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp11ClientsConnectTunnelsToAnHttp2ClusterHoldTheirMaxRequestsSlotUntilTheyEnd(PipelineMode mode)
      throws Exception {
    startChain(mode, H2 + "    circuit_breakers:\n      thresholds:\n      - { max_requests: 1 }\n", null);
    try (Socket first = new Socket("127.0.0.1", forwarder.port())) {
      assertThat(http11Connect(first)).startsWith("HTTP/1.1 200");
      try (Socket second = new Socket("127.0.0.1", forwarder.port())) { // the first tunnel is still open
        assertThat(http11Connect(second)).startsWith("HTTP/1.1 503").contains("x-envoy-overloaded: true");
      }
      first.getOutputStream().write("one".getBytes(StandardCharsets.US_ASCII));
      first.shutdownOutput();
      assertThat(first.getInputStream().readAllBytes()).asString().isEqualTo("one");
    }
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> { // the ended tunnel gave its slot back
      try (Socket next = new Socket("127.0.0.1", forwarder.port())) {
        assertThat(http11Connect(next)).startsWith("HTTP/1.1 200");
      }
    });
    assertThat(forwarder.stat("cluster.next.upstream_rq_pending_overflow")).isGreaterThanOrEqualTo(1);
  }

  /** The forwarder (HTTP/2 cluster "next", route timeout {@code timeout}) in front of {@link #frames}. */
  private void startBeforeFrames(PipelineMode mode, String timeout,
      io.keelson.dataplane.testing.H2FrameUpstream.Answer answer) throws Exception {
    frames = new io.keelson.dataplane.testing.H2FrameUpstream(answer);
    forwarder = new ProxyHarness(io.keelson.dataplane.http1.ConnectProxyingTest.forwarding(frames.port(), H2,
            Files.createTempFile("h2-connect-proxying", ".log"))
        .replace("route: { cluster: next }", "route: { cluster: next, timeout: " + timeout + " }"), mode);
  }

  private static io.netty.handler.codec.http2.Http2HeadersFrame answer(String status, boolean endStream,
      String... fields) {
    io.netty.handler.codec.http2.Http2Headers h = new io.netty.handler.codec.http2.DefaultHttp2Headers().status(status);
    for (int i = 0; i < fields.length; i += 2) {
      h.add(fields[i], fields[i + 1]);
    }
    return new io.netty.handler.codec.http2.DefaultHttp2HeadersFrame(h, endStream);
  }

  /** An HTTP/1.1 client's CONNECT to the forwarder; returns the answer's head, the socket left open. */
  private static String http11Connect(Socket s) throws Exception {
    s.setSoTimeout(15_000);
    s.getOutputStream().write("CONNECT echo.test:7 HTTP/1.1\r\nHost: echo.test:7\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream());
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anInMeshUpstreamsPeerMetadataOnItsConnectAnswerNeverReachesTheClient(PipelineMode mode) throws Exception {
    startBeforeFrames(mode, "15s", (stream, request) -> stream.writeAndFlush(answer("200", false,
        "x-envoy-peer-metadata", "ChQKDkFQUF9DT05UQUlORVJTEgIaAA==", "x-envoy-peer-metadata-id", "sidecar~10.0.0.9~up~ns",
        "x-kept", "yes")));
    try (H2Client client = new H2Client(forwarder.port())) {
      Http2HeadersFrame head = ConnectStreamClient.open(client, "echo.test:7").head.get(10, TimeUnit.SECONDS);
      assertThat(head.headers().status().toString()).isEqualTo("200");
      assertThat(head.headers().get("x-kept")).hasToString("yes");
      assertThat(head.headers().contains("x-envoy-peer-metadata")).isFalse();
      assertThat(head.headers().contains("x-envoy-peer-metadata-id")).isFalse();
    }
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      String head = http11Connect(s).toLowerCase(java.util.Locale.ROOT);
      assertThat(head).startsWith("http/1.1 200").contains("x-kept: yes").doesNotContain("x-envoy-peer-metadata");
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aProxiedConnectAnHttp2UpstreamNeverAnswersGets504AtTheRouteTimeout(PipelineMode mode) throws Exception {
    startBeforeFrames(mode, "1s", (stream, request) -> { }); // HEADERS taken, never answered
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("504");
    }
    assertThat(forwarder.stat("cluster.next.upstream_rq_timeout")).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anyTwoHundredOpensAProxiedConnectsTunnelAndInterimAnswersAreSkipped(PipelineMode mode) throws Exception {
    AtomicInteger n = new AtomicInteger();
    startBeforeFrames(mode, "15s", (stream, request) -> {
      if (n.incrementAndGet() == 1) {
        stream.writeAndFlush(answer("201", false));
      } else {
        stream.write(answer("100", false));
        stream.write(answer("103", false, "link", "</style.css>; rel=preload"));
        stream.writeAndFlush(answer("200", false));
      }
    });
    try (H2Client client = new H2Client(forwarder.port())) {
      ConnectStreamClient created = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(created.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      assertThat(echoThrough(created, "a 201".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("a 201");
      ConnectStreamClient interim = ConnectStreamClient.open(client, "echo.test:7");
      assertThat(interim.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      assertThat(echoThrough(interim, "after 1xx".getBytes(StandardCharsets.US_ASCII))).asString().isEqualTo("after 1xx");
    }
    assertThat(forwarder.stat("cluster.next.upstream_rq_2xx")).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp2UpstreamsTwoHundredWithEndStreamReachesAnHttp11ClientAsTheTunnelsFin(PipelineMode mode) throws Exception {
    startBeforeFrames(mode, "15s", (stream, request) -> stream.writeAndFlush(answer("200", true)));
    try (Socket s = new Socket("127.0.0.1", forwarder.port())) {
      assertThat(http11Connect(s)).startsWith("HTTP/1.1 200");
      assertThat(s.getInputStream().readAllBytes()).as("the upstream's END_STREAM, a FIN").isEmpty();
    }
  }
}
