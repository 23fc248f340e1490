package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.WebSocketEchoServer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * WebSocket over HTTP/2 (RFC 8441 extended CONNECT) through a real proxy: a client built from Netty's HTTP/2 codec and
 * its RFC 6455 frame codec on the stream, a Netty WebSocket echo server (RFC 6455, HTTP/1.1) behind the proxy.
 */
class Http2WebSocketTest {
  private WebSocketEchoServer server;
  private ProxyHarness proxy;
  /** The handshake GETs the echo server saw. */
  private java.util.concurrent.BlockingQueue<io.netty.handler.codec.http.FullHttpRequest> handshakes;

  @BeforeEach
  void echoServer() throws Exception {
    server = new WebSocketEchoServer();
    handshakes = server.handshakes;
  }

  @AfterEach
  void close() {
    if (proxy != null) {
      proxy.close();
    }
    server.close();
  }

  private static final String ROUTES = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/ws-off" }
                      route: { cluster: ws, upgrade_configs: [ { upgrade_type: websocket, enabled: false } ] }
                    - match: { prefix: "/ws" }
                      route: { cluster: ws }
      """;

  private String config(String... hcm) {
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, ProxyHarness.cluster("ws", "ROUND_ROBIN", server.port())), hcm);
  }

  private static final String ALLOW_CONNECT = "http2_protocol_options: { allow_connect: true }";
  private static final String WEBSOCKET = "upgrade_configs: [ { upgrade_type: websocket } ]";

  /** An h2c client connection that keeps the server's SETTINGS. */
  private static final class Client implements AutoCloseable {
    final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final CompletableFuture<io.netty.handler.codec.http2.Http2Settings> settings = new CompletableFuture<>();
    final Channel connection;

    Client(int port) throws InterruptedException {
      connection = new Bootstrap().group(loop).channel(NioSocketChannel.class).handler(new ChannelInitializer<Channel>() {
        @Override
        protected void initChannel(Channel ch) {
          ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
              new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()), new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  if (msg instanceof Http2SettingsFrame s) {
                    settings.complete(s.settings());
                  }
                  io.netty.util.ReferenceCountUtil.release(msg);
                }
              });
        }
      }).connect("127.0.0.1", port).sync().channel();
    }

    @Override
    public void close() {
      connection.close().awaitUninterruptibly();
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
  }

  /**
   * One extended CONNECT stream: the response HEADERS, then RFC 6455 frames carried in DATA frames (the client masks,
   * as a WebSocket client must); {@code ended} completes on END_STREAM, {@code reset} on RST_STREAM.
   */
  private static final class WebSocketStream {
    final CompletableFuture<Http2HeadersFrame> head = new CompletableFuture<>();
    final LinkedBlockingQueue<WebSocketFrame> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Boolean> ended = new CompletableFuture<>();
    final CompletableFuture<Http2ResetFrame> reset = new CompletableFuture<>();
    /** Every DATA byte as received (a refusal's body; the tunnel's frames). */
    final java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
    Http2StreamChannel stream;

    static WebSocketStream open(Client client, String path) throws Exception {
      return open(client, path, new String[0]);
    }

    /** @param headers more request fields, name then value */
    static WebSocketStream open(Client client, String path, String... headers) throws Exception {
      WebSocketStream s = new WebSocketStream();
      s.stream = new Http2StreamChannelBootstrap(client.connection).handler(new ChannelInitializer<Http2StreamChannel>() {
        @Override
        protected void initChannel(Http2StreamChannel ch) {
          ch.pipeline().addLast(new DataFrames(s), new WebSocket13FrameDecoder(false, true, 1 << 20),
              new WebSocket13FrameEncoder(true), new SimpleChannelInboundHandler<WebSocketFrame>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame f) {
                  s.frames.add(f.retain());
                }
              });
        }
      }).open().get(10, TimeUnit.SECONDS);
      Http2Headers h = new DefaultHttp2Headers().method("CONNECT").scheme("http").path(path).authority("chat.test");
      h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
      h.set("sec-websocket-version", "13");
      for (int i = 0; i < headers.length; i += 2) {
        h.add(headers[i], headers[i + 1]);
      }
      s.stream.writeAndFlush(new DefaultHttp2HeadersFrame(h, false)).sync();
      return s;
    }

    WebSocketFrame next() throws InterruptedException {
      WebSocketFrame f = frames.poll(10, TimeUnit.SECONDS);
      assertThat(f).as("a frame within 10 s").isNotNull();
      return f;
    }
  }

  /** DATA frames in as bytes for the WebSocket decoder, the encoder's bytes out as DATA frames. */
  private static final class DataFrames extends ChannelDuplexHandler {
    private final WebSocketStream s;

    DataFrames(WebSocketStream s) {
      this.s = s;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2HeadersFrame h) {
        s.head.complete(h);
        if (h.isEndStream()) {
          s.ended.complete(true);
        }
      } else if (msg instanceof Http2DataFrame d) {
        boolean end = d.isEndStream();
        synchronized (s.data) {
          s.data.writeBytes(io.netty.buffer.ByteBufUtil.getBytes(d.content()));
        }
        if (end) { // complete before a refusal's body reaches the frame decoder (which may refuse it)
          s.ended.complete(true);
        }
        ctx.fireChannelRead(d.content().retain());
        d.release();
        if (end) {
          s.ended.complete(true);
        }
      } else if (msg instanceof Http2ResetFrame r) {
        s.reset.complete(r);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame r) {
        s.reset.complete(r);
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ctx.write(msg instanceof ByteBuf b ? new DefaultHttp2DataFrame(b, false) : msg, promise);
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void echoesTextAndBinaryFramesAndClosesThroughAnHttp11WebSocketServer(PipelineMode mode, @TempDir Path dir)
      throws Exception {
    Path log = dir.resolve("access.log");
    proxy = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET, ProxyHarness.fileAccessLog(log,
        "%PROTOCOL% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT%\\n")), mode);
    try (Client client = new Client(proxy.port())) {
      assertThat(client.settings.get(10, TimeUnit.SECONDS).connectProtocolEnabled())
          .as("SETTINGS_ENABLE_CONNECT_PROTOCOL").isTrue();
      WebSocketStream ws = WebSocketStream.open(client, "/ws");
      Http2HeadersFrame head = ws.head.get(10, TimeUnit.SECONDS);
      assertThat(head.headers().status().toString()).isEqualTo("200");
      assertThat(head.isEndStream()).isFalse();
      assertThat(head.headers().contains("x-envoy-upstream-service-time"))
          .as("as Envoy's router: none before it had the whole request, which an upgrade never is").isFalse();
      var handshake = handshakes.poll(10, TimeUnit.SECONDS);
      assertThat(handshake.method().name()).isEqualTo("GET");
      assertThat(handshake.uri()).isEqualTo("/ws");
      assertThat(handshake.headers().get("upgrade")).isEqualToIgnoringCase("websocket");
      assertThat(handshake.headers().get("sec-websocket-key")).as("added for the RFC 6455 server").isNotBlank();
      assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_active")).isEqualTo(1);

      echoTextAndBinaryThenClose(ws);
      assertThat(ws.ended.get(10, TimeUnit.SECONDS)).as("the server's FIN as END_STREAM").isTrue();
    }
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
    assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
    assertThat(proxy.stat("cluster.ws.upstream_rq_2xx")).isEqualTo(1);
    // Written when the stream ends, with the tunnel's bytes (the frames both ways, more than the 200 kB binary each way).
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> Files.exists(log) && !Files.readString(log).isBlank());
    String[] entry = Files.readString(log).strip().split(" ");
    assertThat(entry).startsWith("HTTP/2", "GET", "/ws", "200");
    assertThat(Long.parseLong(entry[4])).isGreaterThan(200_000);
    assertThat(Long.parseLong(entry[5])).isGreaterThan(200_000);
  }

  /** A reset of the client's stream closes the upstream connection; the tunnel is no longer counted. */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aResetStreamClosesTheUpstreamConnection(PipelineMode mode) throws Exception {
    proxy = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET), mode);
    try (Client client = new Client(proxy.port())) {
      WebSocketStream ws = WebSocketStream.open(client, "/ws");
      assertThat(ws.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
      ws.stream.writeAndFlush(new TextWebSocketFrame("hello")).sync();
      ws.next().release();
      assertThat(server.open.get()).isEqualTo(1);
      ws.stream.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2ResetFrame(
          io.netty.handler.codec.http2.Http2Error.CANCEL)).sync();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> server.open.get() == 0 && proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
    }
  }

  /** Text and 200 kB binary echoed, then the close handshake: the server's close frame and its FIN as END_STREAM. */
  private static void echoTextAndBinaryThenClose(WebSocketStream ws) throws Exception {
      ws.stream.writeAndFlush(new TextWebSocketFrame("hello")).sync();
      WebSocketFrame text = ws.next();
      assertThat(((TextWebSocketFrame) text).text()).isEqualTo("echo:hello");
      text.release();
      byte[] binary = new byte[200_000]; // beyond the 64 KiB stream windows both ways
      for (int i = 0; i < binary.length; i++) {
        binary[i] = (byte) (i * 31 + (i >> 8));
      }
      ws.stream.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(binary))).sync();
      WebSocketFrame echoed = ws.next();
      assertThat(echoed).isInstanceOf(BinaryWebSocketFrame.class);
      byte[] got = new byte[echoed.content().readableBytes()];
      echoed.content().readBytes(got);
      echoed.release();
      assertThat(got).isEqualTo(binary);

      ws.stream.writeAndFlush(new CloseWebSocketFrame(1000, "bye")).sync();
      WebSocketFrame close = ws.next();
      assertThat(close).isInstanceOf(CloseWebSocketFrame.class);
      assertThat(((CloseWebSocketFrame) close).statusCode()).isEqualTo(1000);
      close.release();
      assertThat(ws.ended.get(10, TimeUnit.SECONDS)).as("the server's FIN as END_STREAM").isTrue();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void carriesTheWebSocketAsExtendedConnectToAnHttp2ClusterWithAllowConnect(PipelineMode mode) throws Exception {
    ProxyHarness inner = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET), mode); // extended CONNECT in, HTTP/1.1 out
    try {
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), true)),
          ALLOW_CONNECT, WEBSOCKET), mode);
      try (Client client = new Client(proxy.port())) {
        WebSocketStream ws = WebSocketStream.open(client, "/ws");
        assertThat(ws.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("200");
        assertThat(handshakes.poll(10, TimeUnit.SECONDS).uri()).isEqualTo("/ws");
        assertThat(inner.stat("http.ingress_http.downstream_cx_upgrades_active")).as("an extended CONNECT").isEqualTo(1);
        echoTextAndBinaryThenClose(ws);
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0
              && inner.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
      assertThat(inner.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
      assertThat(proxy.stat("cluster.ws.upstream_rq_2xx")).isEqualTo(1);
    } finally {
      inner.close();
    }
  }

  /**
   * The reverse: an HTTP/1.1 WebSocket client (the JDK's, which checks Sec-WebSocket-Accept) through a proxy whose
   * cluster is HTTP/2 with allow_connect, so the upgrade crosses that hop as extended CONNECT to a second proxy.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void carriesAnHttp11WebSocketClientAsExtendedConnectToAnHttp2ClusterWithAllowConnect(PipelineMode mode) throws Exception {
    ProxyHarness inner = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET), mode);
    try {
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), true)),
          WEBSOCKET), mode);
      var collector = new io.keelson.dataplane.testing.WebSocketCollector();
      LinkedBlockingQueue<Object> received = collector.received;
      CompletableFuture<Integer> closed = collector.closed;
      java.net.http.WebSocket ws = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
          .buildAsync(java.net.URI.create("ws://127.0.0.1:" + proxy.port() + "/ws"), collector).get(10, TimeUnit.SECONDS);
      ws.sendText("hello", true).get(10, TimeUnit.SECONDS);
      assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("echo:hello");
      byte[] binary = new byte[150_000];
      for (int i = 0; i < binary.length; i++) {
        binary[i] = (byte) (i * 13 + (i >> 10));
      }
      ws.sendBinary(java.nio.ByteBuffer.wrap(binary), true).get(10, TimeUnit.SECONDS);
      assertThat((byte[]) received.poll(10, TimeUnit.SECONDS)).isEqualTo(binary);
      assertThat(inner.stat("http.ingress_http.downstream_cx_upgrades_active")).as("an extended CONNECT").isEqualTo(1);
      ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
      assertThat(closed.get(10, TimeUnit.SECONDS)).isEqualTo(1000);
      assertThat(handshakes.poll(10, TimeUnit.SECONDS).uri()).isEqualTo("/ws");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0
              && inner.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
      assertThat(inner.stat("http.ingress_http.downstream_cx_upgrades_total")).isEqualTo(1);
    } finally {
      inner.close();
    }
  }

  /**
   * A plain-socket HTTP/1.1 WebSocket server (the peer's side of the bytes is the test's): answers the upgrade GET with a
   * correct 101, then runs {@code session} on the socket.
   */
  private static Thread rawWebSocketServer(java.net.ServerSocket listening, CompletableFuture<String> outcome,
      SocketSession session) {
    return Thread.ofVirtual().start(() -> {
      try (java.net.Socket s = listening.accept()) {
        String head = io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream());
        var key = java.util.regex.Pattern.compile("(?im)^sec-websocket-key:\\s*(\\S+)").matcher(head);
        assertThat(key.find()).as("the upgrade GET's key").isTrue();
        s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: " + Http2Upgrade.accept(key.group(1)) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        outcome.complete(session.run(s));
      } catch (Throwable e) {
        outcome.completeExceptionally(e);
      }
    });
  }

  @FunctionalInterface
  private interface SocketSession {
    String run(java.net.Socket s) throws Exception;
  }

  private static final String HTTP11_UPGRADE = "GET /ws HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\n"
      + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

  /** An HTTP/1.1 client through a proxy whose cluster is HTTP/2 (allow_connect; a second proxy) to {@code port}. */
  private ProxyHarness innerAndOuter(int port, PipelineMode mode) throws Exception {
    ProxyHarness inner = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES,
        ProxyHarness.cluster("ws", "ROUND_ROBIN", port)), ALLOW_CONNECT, WEBSOCKET), mode);
    proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), true)),
        WEBSOCKET), mode);
    return inner;
  }

  /**
   * HTTP/1.1 client, HTTP/2 cluster: the client's FIN goes on as END_STREAM (the server sees its FIN) while the
   * server's answer still comes back, then the server's FIN comes back as the client's EOF.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void anHttp11ClientsFinReachesTheServerThroughAnHttp2ClusterAndTheAnswerStillComesBack(PipelineMode mode)
      throws Exception {
    try (java.net.ServerSocket backend = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> outcome = new CompletableFuture<>();
      rawWebSocketServer(backend, outcome, s -> {
        String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII); // up to the FIN
        s.getOutputStream().write(("bye:" + got).getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return got;
      });
      try (ProxyHarness inner = innerAndOuter(backend.getLocalPort(), mode);
          java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
        client.setSoTimeout(10_000);
        client.getOutputStream().write(HTTP11_UPGRADE.getBytes(StandardCharsets.US_ASCII));
        assertThat(io.keelson.dataplane.testing.RawHttp.readHead(client.getInputStream())).startsWith("HTTP/1.1 101")
            .doesNotContainIgnoringCase("x-envoy-upstream-service-time"); // as Envoy: the request never completed
        client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
        client.shutdownOutput();
        assertThat(outcome.get(10, TimeUnit.SECONDS)).as("the server read up to a FIN").isEqualTo("hello");
        assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
            .as("the answer sent after the client's FIN, then EOF").isEqualTo("bye:hello");
      }
    }
  }

  /**
   * HTTP/1.1 client, HTTP/2 cluster: the server's FIN (END_STREAM on the cluster's stream) reaches the client as a FIN
   * after the bytes before it, and the client can still send: the connection is not closed under it.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void theServersFinReachesAnHttp11ClientThroughAnHttp2ClusterWhichCanStillSend(PipelineMode mode) throws Exception {
    try (java.net.ServerSocket backend = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> outcome = new CompletableFuture<>();
      rawWebSocketServer(backend, outcome, s -> {
        s.getOutputStream().write("first".getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      });
      try (ProxyHarness inner = innerAndOuter(backend.getLocalPort(), mode);
          java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
        client.setSoTimeout(10_000);
        client.getOutputStream().write(HTTP11_UPGRADE.getBytes(StandardCharsets.US_ASCII));
        assertThat(io.keelson.dataplane.testing.RawHttp.readHead(client.getInputStream())).startsWith("HTTP/1.1 101");
        assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
            .as("the server's bytes, then its FIN").isEqualTo("first");
        client.getOutputStream().write("late".getBytes(StandardCharsets.US_ASCII));
        client.shutdownOutput();
        assertThat(outcome.get(10, TimeUnit.SECONDS)).as("sent after the server's FIN").isEqualTo("late");
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> proxy.stat("http.ingress_http.downstream_cx_upgrades_active") == 0);
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void answers503WhenTheHttp2UpstreamRefusesExtendedConnectOrTheClusterHasNoAllowConnect(PipelineMode mode)
      throws Exception {
    ProxyHarness inner = new ProxyHarness(config(WEBSOCKET), mode); // no allow_connect: it resets a :protocol stream
    try {
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), true)),
          ALLOW_CONNECT, WEBSOCKET), mode);
      try (Client client = new Client(proxy.port())) {
        assertThat(WebSocketStream.open(client, "/ws").head.get(10, TimeUnit.SECONDS).headers().status().toString())
            .isEqualTo("503");
      }
      proxy.close();
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), false)),
          ALLOW_CONNECT, WEBSOCKET), mode);
      try (Client client = new Client(proxy.port())) {
        assertThat(WebSocketStream.open(client, "/ws").head.get(10, TimeUnit.SECONDS).headers().status().toString())
            .as("an HTTP/2 cluster without allow_connect cannot take the upgrade").isEqualTo("503");
      }
    } finally {
      inner.close();
    }
    assertThat(handshakes).isEmpty();
  }

  private static String h2Cluster(int port, boolean allowConnect) {
    return ProxyHarness.cluster("ws", "ROUND_ROBIN", port).replace("    connect_timeout: 1s\n",
        "    connect_timeout: 1s\n    http2_protocol_options: { allow_connect: " + allowConnect + " }\n");
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void refusesUpgradesThatAreNotConfiguredOrDisabledAndPassesOnTheServersRefusal(PipelineMode mode) throws Exception {
    proxy = new ProxyHarness(config(ALLOW_CONNECT), mode); // no websocket in upgrade_configs
    try (Client client = new Client(proxy.port())) {
      assertThat(WebSocketStream.open(client, "/ws").head.get(10, TimeUnit.SECONDS).headers().status().toString())
          .isEqualTo("403");
    }
    proxy.close();
    proxy = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET), mode);
    try (Client client = new Client(proxy.port())) {
      assertThat(WebSocketStream.open(client, "/ws-off").head.get(10, TimeUnit.SECONDS).headers().status().toString())
          .as("the route disables it").isEqualTo("403");
      assertThat(WebSocketStream.open(client, "/nothing").head.get(10, TimeUnit.SECONDS).headers().status().toString())
          .as("no route").isEqualTo("404");
      assertTheServersRefusalPassedOn(client);
    }
    assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isZero();
  }

  /** The same refusal crossing an allow_connect h2c hop: the inner proxy's {@code :status 403} stream, body and all. */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void passesOnTheServersRefusalAcrossAnExtendedConnectHop(PipelineMode mode) throws Exception {
    ProxyHarness inner = new ProxyHarness(config(ALLOW_CONNECT, WEBSOCKET), mode);
    try {
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES, h2Cluster(inner.port(), true)),
          ALLOW_CONNECT, WEBSOCKET), mode);
      try (Client client = new Client(proxy.port())) {
        assertTheServersRefusalPassedOn(client);
      }
      assertThat(proxy.stat("cluster.ws.upstream_rq_4xx")).isEqualTo(1);
    } finally {
      inner.close();
    }
  }

  /**
   * The echo server upgrades /ws only: its 403 to /wsx reaches the client with its body and end-to-end fields (not the
   * hop-by-hop ones), and ends the stream.
   */
  private static void assertTheServersRefusalPassedOn(Client client) throws Exception {
    WebSocketStream refused = WebSocketStream.open(client, "/wsx");
    Http2Headers refusal = refused.head.get(10, TimeUnit.SECONDS).headers();
    assertThat(refusal.status().toString()).isEqualTo("403");
    assertThat(refused.ended.get(10, TimeUnit.SECONDS)).isTrue();
    synchronized (refused.data) {
      assertThat(refused.data.toString(java.nio.charset.StandardCharsets.US_ASCII))
          .isEqualTo(io.keelson.dataplane.testing.WebSocketEchoServer.REFUSAL);
    }
    assertThat(refusal.get("content-type").toString()).isEqualTo("text/plain");
    assertThat(refusal.get("x-refused-by").toString()).isEqualTo("echo");
    assertThat(refusal.contains("x-hop")).as("named by the refusal's Connection header").isFalse();
  }

  /**
   * The upgrade GET carries a key Keelson made up (the HTTP/2 client sent none): a 101 whose Sec-WebSocket-Accept does
   * not answer it is no WebSocket (RFC 6455 §4.1), so the client gets a 502 and no tunnel; the server's connection is
   * closed.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aWrongSecWebSocketAcceptFromTheHttp11ServerIs502NotATunnel(PipelineMode mode) throws Exception {
    try (java.net.ServerSocket liar = new java.net.ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Boolean> closedByProxy = new CompletableFuture<>();
      Thread t = Thread.ofVirtual().start(() -> {
        try (java.net.Socket s = liar.accept()) {
          io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream());
          s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          closedByProxy.complete(s.getInputStream().read() < 0);
        } catch (Exception e) {
          closedByProxy.completeExceptionally(e);
        }
      });
      proxy = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(ROUTES,
          ProxyHarness.cluster("ws", "ROUND_ROBIN", liar.getLocalPort())), ALLOW_CONNECT, WEBSOCKET), mode);
      try (Client client = new Client(proxy.port())) {
        WebSocketStream ws = WebSocketStream.open(client, "/ws");
        assertThat(ws.head.get(10, TimeUnit.SECONDS).headers().status().toString()).isEqualTo("502");
        assertThat(ws.ended.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(closedByProxy.get(10, TimeUnit.SECONDS)).isTrue();
      }
      t.join(10_000);
      assertThat(proxy.stat("http.ingress_http.downstream_cx_upgrades_total")).isZero();
      assertThat(proxy.stat("cluster.ws.upstream_rq_5xx")).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void resetsExtendedConnectWhenAllowConnectIsOff(PipelineMode mode) throws Exception {
    proxy = new ProxyHarness(config(WEBSOCKET), mode);
    try (Client client = new Client(proxy.port())) {
      assertThat(client.settings.get(10, TimeUnit.SECONDS).connectProtocolEnabled()).isNull();
      WebSocketStream ws = WebSocketStream.open(client, "/ws");
      assertThat(ws.reset.get(10, TimeUnit.SECONDS).errorCode())
          .isEqualTo(io.netty.handler.codec.http2.Http2Error.PROTOCOL_ERROR.code());
    }
    assertThat(handshakes).isEmpty();
  }

  /** The /ws route adds a response header; the server behind negotiates (WebSocketEchoServer(true)). */
  private static final String NEGOTIATED_ROUTES = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/ws" }
                      route: { cluster: ws }
                      response_headers_to_add:
                      - header: { key: x-route, value: ws }
                        append_action: OVERWRITE_IF_EXISTS_OR_ADD
      """;

  /** A proxy (allow_connect, websocket) to a negotiating server (replacing the plain one) whose /ws route adds x-route. */
  private ProxyHarness negotiatingProxy(PipelineMode mode) throws Exception {
    server.close();
    server = new WebSocketEchoServer(true);
    handshakes = server.handshakes;
    return new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(NEGOTIATED_ROUTES,
        ProxyHarness.cluster("ws", "ROUND_ROBIN", server.port())), ALLOW_CONNECT, WEBSOCKET), mode);
  }

  /** A proxy in front of {@code inner} over an allow_connect h2c cluster, whose /ws route adds x-outer. */
  private static ProxyHarness outerProxy(ProxyHarness inner, PipelineMode mode, String... hcm) throws Exception {
    String outerRoutes = NEGOTIATED_ROUTES.replace("key: x-route, value: ws", "key: x-outer, value: outer");
    return new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(outerRoutes, h2Cluster(inner.port(), true)), hcm),
        mode);
  }

  /** The client's 200 carries what the server negotiated and answered, and the route's response header. */
  private static void assertNegotiatedAnswer(Http2HeadersFrame head) {
    Http2Headers h = head.headers();
    assertThat(h.status().toString()).isEqualTo("200");
    assertThat(head.isEndStream()).isFalse();
    assertThat(h.get("sec-websocket-protocol")).hasToString("chat");
    assertThat(h.get("sec-websocket-extensions").toString()).startsWith("permessage-deflate");
    assertThat(h.get("set-cookie")).hasToString("session=ws1");
    assertThat(h.get("x-upstream")).hasToString("negotiated");
    assertThat(h.get("x-route")).hasToString("ws");
    assertThat(h.contains("sec-websocket-accept")).as("RFC 8441: no key exchange on HTTP/2").isFalse();
    assertThat(h.contains("upgrade") || h.contains("connection")).isFalse();
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void the200CarriesTheHttp11ServersNegotiatedSubprotocolExtensionAndHeaders(PipelineMode mode) throws Exception {
    proxy = negotiatingProxy(mode);
    try (Client client = new Client(proxy.port())) {
      WebSocketStream ws = WebSocketStream.open(client, "/ws", "sec-websocket-protocol", "chat",
          "sec-websocket-extensions", "permessage-deflate");
      assertNegotiatedAnswer(ws.head.get(10, TimeUnit.SECONDS));
      var handshake = handshakes.poll(10, TimeUnit.SECONDS);
      assertThat(handshake.headers().get("sec-websocket-protocol")).isEqualTo("chat");
      assertThat(handshake.headers().get("sec-websocket-extensions")).isEqualTo("permessage-deflate");
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void the200CarriesTheHttp2UpstreamsAnswerToExtendedConnect(PipelineMode mode) throws Exception {
    ProxyHarness inner = negotiatingProxy(mode);
    try {
      proxy = outerProxy(inner, mode, ALLOW_CONNECT, WEBSOCKET);
      try (Client client = new Client(proxy.port())) {
        WebSocketStream ws = WebSocketStream.open(client, "/ws", "sec-websocket-protocol", "chat",
            "sec-websocket-extensions", "permessage-deflate");
        Http2HeadersFrame head = ws.head.get(10, TimeUnit.SECONDS);
        assertNegotiatedAnswer(head); // x-route: the inner proxy's route, carried across the extended CONNECT
        assertThat(head.headers().get("x-outer")).as("this proxy's route").hasToString("outer");
      }
    } finally {
      inner.close();
    }
  }

  /** An HTTP/1.1 client through an HTTP/2 cluster (extended CONNECT): its 101 carries the upstream's answer. */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void the101CarriesTheHttp2UpstreamsAnswerToAnHttp11Client(PipelineMode mode) throws Exception {
    ProxyHarness inner = negotiatingProxy(mode);
    try {
      proxy = outerProxy(inner, mode, WEBSOCKET);
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxy.port())) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        StringBuilder head = new StringBuilder();
        var in = s.getInputStream();
        while (!head.toString().endsWith("\r\n\r\n")) {
          int b = in.read();
          assertThat(b).as("the 101 head, whole").isNotNegative();
          head.append((char) b);
        }
        String answer = head.toString().toLowerCase(java.util.Locale.ROOT);
        assertThat(answer).startsWith("http/1.1 101 ")
            .contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n") // RFC 6455's example key
            .contains("\r\nsec-websocket-protocol: chat\r\n", "\r\nsec-websocket-extensions: permessage-deflate",
                "\r\nset-cookie: session=ws1\r\n", "\r\nx-upstream: negotiated\r\n", "\r\nx-route: ws\r\n",
                "\r\nx-outer: outer\r\n", "\r\nupgrade: websocket\r\n", "\r\nconnection: upgrade\r\n");
      }
    } finally {
      inner.close();
    }
  }
}
