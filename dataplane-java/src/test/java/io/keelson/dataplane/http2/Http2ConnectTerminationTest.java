package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TcpEcho;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrame;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Envoy's CONNECT termination on HTTP/2 through a real proxy (h2c prior knowledge, a Netty frame-level client): the
 * 200 HEADERS, DATA both ways with every byte value, END_STREAM as half-close both ways, and the refusals.
 */
class Http2ConnectTerminationTest {
  private ProxyHarness proxy;
  private TcpEcho echo;

  @AfterEach
  void close() {
    if (proxy != null) {
      proxy.close();
    }
    if (echo != null) {
      echo.close();
    }
  }

  static final String CONNECT_ROUTES = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { connect_matcher: {} }
                      route: { cluster: target, upgrade_configs: [ { upgrade_type: CONNECT, connect_config: {} } ] }
      """;

  private static String config(int targetPort, boolean hcmConnect) {
    String yaml = ProxyHarness.bootstrap(CONNECT_ROUTES, ProxyHarness.cluster("target", "ROUND_ROBIN", targetPort));
    return hcmConnect ? ProxyHarness.withHcm(yaml, "upgrade_configs: [ { upgrade_type: CONNECT } ]") : yaml;
  }

  /** One CONNECT stream: its response HEADERS, the DATA it received, and its END_STREAM. */
  static final class ConnectStreamClient extends SimpleChannelInboundHandler<Http2StreamFrame> {
    final CompletableFuture<Http2HeadersFrame> head = new CompletableFuture<>();
    final CompletableFuture<byte[]> ended = new CompletableFuture<>();
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    Channel stream;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Http2StreamFrame frame) {
      if (frame instanceof Http2HeadersFrame h) {
        head.complete(h);
        if (h.isEndStream()) {
          ended.complete(data.toByteArray());
        }
      } else if (frame instanceof Http2DataFrame d) {
        byte[] b = new byte[d.content().readableBytes()];
        d.content().readBytes(b);
        data.writeBytes(b);
        if (d.isEndStream()) {
          ended.complete(data.toByteArray());
        }
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      head.completeExceptionally(new IllegalStateException("stream closed before its response"));
      ended.completeExceptionally(new IllegalStateException("stream reset before END_STREAM"));
    }

    /** Opens a stream on {@code client} and sends CONNECT {@code authority} (no END_STREAM). */
    static ConnectStreamClient open(H2Client client, String authority) throws Exception {
      ConnectStreamClient c = new ConnectStreamClient();
      c.stream = new Http2StreamChannelBootstrap(client.connection).handler(new ChannelInitializer<Http2StreamChannel>() {
        @Override
        protected void initChannel(Http2StreamChannel ch) {
          ch.pipeline().addLast(c);
        }
      }).open().get(10, TimeUnit.SECONDS);
      c.stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("CONNECT").authority(authority), false))
          .sync();
      return c;
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void relaysDataFramesBothWaysAndEndStreamHalfClosesEachWay(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    java.nio.file.Path log = java.nio.file.Files.createTempFile("h2-connect-bytes", ".log");
    proxy = new ProxyHarness(ProxyHarness.withHcm(config(echo.port(), true),
        ProxyHarness.fileAccessLog(log, "%REQ(:METHOD)% %RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT%\\n")), mode);
    byte[] payload = new byte[400_000]; // beyond the 64 KiB windows: flow control must move both ways
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (i * 7 + (i >> 9));
    }
    try (H2Client client = new H2Client(proxy.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "example.test:443");
      Http2HeadersFrame head = c.head.get(10, TimeUnit.SECONDS);
      assertThat(head.headers().status().toString()).isEqualTo("200");
      assertThat(head.isEndStream()).isFalse();
      for (int off = 0; off < payload.length; off += 16_000) {
        int n = Math.min(16_000, payload.length - off);
        c.stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(payload, off, n), false));
      }
      assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_active")).as("an open tunnel").isEqualTo(1);
      c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true)); // END_STREAM: the echo gets a FIN
      assertThat(c.ended.get(20, TimeUnit.SECONDS)).isEqualTo(payload); // the echo's FIN came back as END_STREAM
    }
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
    assertThat(echo.finsSeen.get()).isEqualTo(1);
    assertThat(proxy.stat("cluster.target.upstream_rq_2xx")).isEqualTo(1);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)) // the tunnel's bytes, both ways
        .untilAsserted(() -> assertThat(java.nio.file.Files.readString(log)).isEqualTo("CONNECT 200 400000 400000\n"));
  }

  /**
   * The DATA that came in the read with the HEADERS waits in the stream proxy while the target connects; DATA sent
   * later waits in the stream. Once connected, the first must be written before the second is read: the target sees
   * "AB", never "BA". The target connects slowly: its accept queue is full, so the proxy's SYN is dropped and retried.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void dataSentWithTheHeadersReachesTheTargetBeforeDataSentWhileItConnects(PipelineMode mode) throws Exception {
    try (java.net.ServerSocket target = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        java.net.Socket filler1 = new java.net.Socket(target.getInetAddress(), target.getLocalPort());
        java.net.Socket filler2 = new java.net.Socket(target.getInetAddress(), target.getLocalPort())) {
      proxy = new ProxyHarness(config(target.getLocalPort(), true).replace("connect_timeout: 1s", "connect_timeout: 10s"),
          mode);
      try (H2Client client = new H2Client(proxy.port())) {
        ConnectStreamClient c = new ConnectStreamClient();
        c.stream = new Http2StreamChannelBootstrap(client.connection).handler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel ch) {
            ch.pipeline().addLast(c);
          }
        }).open().get(10, TimeUnit.SECONDS);
        c.stream.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("CONNECT").authority("example.test:443"), false));
        c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("A", StandardCharsets.US_ASCII), false)).sync();
        Thread.sleep(300); // the proxy's connect is waiting for the full accept queue
        c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("B", StandardCharsets.US_ASCII), false)).sync();
        assertThat(c.head).as("the target has not connected yet").isNotDone();
        filler1.close();
        filler2.close();
        target.setSoTimeout(10_000);
        target.accept().close(); // the fillers leave the queue; the proxy's retried SYN gets in
        target.accept().close();
        try (java.net.Socket from = target.accept()) {
          assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
          c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
          from.setSoTimeout(10_000);
          byte[] got = from.getInputStream().readAllBytes(); // until the END_STREAM's FIN
          assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("AB");
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void refusesWith403WithoutConnectInUpgradeConfigs404WithoutAConnectRouteAnd503WhenTheTargetRefuses(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    proxy = new ProxyHarness(config(echo.port(), false), mode);
    try (H2Client client = new H2Client(proxy.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "example.test:443");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("403");
    }
    assertThat(echo.connections.get()).isZero();
    proxy.close();
    String prefixOnly = ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.allTo("target"),
        ProxyHarness.cluster("target", "ROUND_ROBIN", echo.port())), "upgrade_configs: [ { upgrade_type: CONNECT } ]");
    proxy = new ProxyHarness(prefixOnly, mode);
    try (H2Client client = new H2Client(proxy.port())) { // a prefix "/" route does not match CONNECT
      ConnectStreamClient c = ConnectStreamClient.open(client, "example.test:443");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("404");
    }
    assertThat(echo.connections.get()).isZero();
    proxy.close();
    proxy = new ProxyHarness(config(TestUpstream.closedPort(), true), mode);
    try (H2Client client = new H2Client(proxy.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "example.test:443");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("503");
    }
  }

  /**
   * As HTTP/1.1's CONNECT (and Envoy's pool): at {@code max_connections} a second CONNECT waits as a pending request
   * for the first tunnel's connection slot and opens once it closes; a third finds {@code max_pending_requests} (1)
   * full and gets 503 UO at once. The old code answered the second 503 UO without waiting.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aConnectAtMaxConnectionsWaitsAsPendingForTheSlotAndOverflowsBeyondMaxPending(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    String breakers = "    circuit_breakers:\n      thresholds:\n      - { max_connections: 1, max_pending_requests: 1 }\n";
    proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(CONNECT_ROUTES,
        ProxyHarness.cluster("target", "ROUND_ROBIN", echo.port()) + breakers),
        "upgrade_configs: [ { upgrade_type: CONNECT } ]"), mode);
    try (H2Client client = new H2Client(proxy.port())) {
      ConnectStreamClient first = ConnectStreamClient.open(client, "one.test:1");
      assertThat(first.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      ConnectStreamClient second = ConnectStreamClient.open(client, "two.test:2");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> proxy.stat("cluster.target.upstream_cx_overflow") >= 1); // it waits for the slot
      assertThat(second.head).as("waiting as pending, not refused").isNotDone();
      ConnectStreamClient third = ConnectStreamClient.open(client, "three.test:3");
      assertThat(third.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("503");
      assertThat(proxy.stat("cluster.target.upstream_rq_pending_overflow")).isEqualTo(1);
      first.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true)); // FIN → echo's FIN → closed
      assertThat(first.ended.get(10, TimeUnit.SECONDS)).isEmpty();
      assertThat(second.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      second.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("hi", StandardCharsets.US_ASCII), true));
      assertThat(new String(second.ended.get(10, TimeUnit.SECONDS), StandardCharsets.US_ASCII)).isEqualTo("hi");
    }
    assertThat(echo.connections.get()).isEqualTo(2);
  }

  /**
   * A TLS target (TLS 1.3, JDK server) that answers only once it has read the whole request, up to the end of the
   * stream: the client's END_STREAM must reach it as close_notify then FIN (Envoy's TLS socket on end_stream), and
   * its answer, close_notify and FIN must come back as DATA and END_STREAM. The old code sent nothing on END_STREAM
   * toward a TLS target, so the target never answered.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aClientHalfCloseReachesATlsTargetAsCloseNotifyAndItsAnswerStillComesBack(PipelineMode mode) throws Exception {
    io.keelson.dataplane.testing.TlsCountingTarget target = new io.keelson.dataplane.testing.TlsCountingTarget();
    String cluster = target.cluster("target");
    proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(CONNECT_ROUTES, cluster),
        "upgrade_configs: [ { upgrade_type: CONNECT } ]"), mode);
    byte[] payload = new byte[100_000];
    for (int i = 0; i < payload.length; i++) {
      payload[i] = (byte) (i * 13 + (i >> 7));
    }
    try (H2Client client = new H2Client(proxy.port())) {
      ConnectStreamClient c = ConnectStreamClient.open(client, "secure.test:443");
      assertThat(c.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      for (int off = 0; off < payload.length; off += 16_000) {
        c.stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(payload, off, Math.min(16_000, payload.length - off)),
            false));
      }
      c.stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true)); // the client is done sending
      assertThat(target.read.get(15, TimeUnit.SECONDS)).isEqualTo(payload.length);
      assertThat(new String(c.ended.get(15, TimeUnit.SECONDS), StandardCharsets.US_ASCII)).isEqualTo("got 100000");
    } finally {
      target.close();
    }
  }
}
