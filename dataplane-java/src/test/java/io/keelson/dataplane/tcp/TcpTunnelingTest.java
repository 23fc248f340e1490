package io.keelson.dataplane.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TcpEcho;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrame;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * tcp_proxy tunneling_config with real peers: a client's TCP bytes carried in an HTTP/2 CONNECT stream to Keelson's own
 * CONNECT termination (a second proxy) and on to a TCP echo; to an independent Netty HTTP/2 peer that checks the
 * request's pseudo-headers and headers_to_add (CONNECT and use_post); a peer refusing with 403 closes the client.
 */
class TcpTunnelingTest {
  private ProxyHarness terminator;
  private ProxyHarness tunneler;
  private TcpEcho echo;
  private EventLoopGroup peerGroup;

  @AfterEach
  void close() {
    for (ProxyHarness p : new ProxyHarness[] {tunneler, terminator}) {
      if (p != null) {
        p.close();
      }
    }
    if (echo != null) {
      echo.close();
    }
    if (peerGroup != null) {
      peerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
  }

  private static String h2Cluster(String name, int port) {
    return ProxyHarness.cluster(name, "ROUND_ROBIN", port) + "    http2_protocol_options: {}\n";
  }

  private static String tunnelingListener(String tunnelingConfig, int h2Port) {
    return TcpProxyTest.tcpListener("          cluster: h2\n" + tunnelingConfig, h2Cluster("h2", h2Port));
  }

  private int tunnelPort() {
    return tunneler.server.listenerAddress("tcp").getPort();
  }

  /** Writes {@code payload}, half-closes, and returns everything read until the peer's FIN. */
  private static byte[] exchange(int port, byte[] payload) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          out.write(payload);
          out.flush();
          s.shutdownOutput();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      byte[] back = in.readAllBytes();
      writer.join(10_000);
      return back;
    }
  }

  /**
   * Sends a few bytes and a FIN; true when the proxy closes the connection without a byte back. A close with the
   * client's bytes still unread in the proxy's socket comes as a reset: that counts as closed too (a refused connect
   * or a timeout does not: they are thrown).
   */
  private static boolean closedWithNothing(int port) throws Exception {
    try {
      return exchange(port, "hello".getBytes(StandardCharsets.US_ASCII)).length == 0;
    } catch (java.net.SocketException e) {
      if (e instanceof java.net.ConnectException || !isReset(e)) {
        throw e;
      }
      return true;
    }
  }

  /** The JDK's messages for a peer's RST (read or write) and for a write after the peer closed. */
  private static boolean isReset(java.net.SocketException e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("Connection reset") || m.contains("Broken pipe");
  }

  private static byte[] binary(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 13 + (i >> 10));
    }
    return b;
  }

  /** A TCP echo behind a second Keelson terminating every CONNECT toward it; returns the terminator's access log. */
  private Path startTerminator(PipelineMode mode) throws Exception {
    echo = new TcpEcho();
    Path log = Files.createTempFile("tunnel-terminator", ".log");
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { connect_matcher: {} }
                        route: { cluster: echo, upgrade_configs: [ { upgrade_type: CONNECT, connect_config: {} } ] }
        """;
    terminator = new ProxyHarness(ProxyHarness.withHcm(ProxyHarness.bootstrap(routes, ProxyHarness.cluster("echo", "ROUND_ROBIN",
        echo.port())), "upgrade_configs: [ { upgrade_type: CONNECT } ]", ProxyHarness.fileAccessLog(log,
        "%PROTOCOL% %REQ(:METHOD)% %REQ(:AUTHORITY)% port=%REQ(X-ORIGINAL-PORT)% %RESPONSE_CODE% %BYTES_RECEIVED%\\n")), mode);
    return log;
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void carriesTcpThroughKeelsonsOwnConnectTerminationToAnEcho(PipelineMode mode) throws Exception {
    Path log = startTerminator(mode);
    tunneler = new ProxyHarness(tunnelingListener("""
                  tunneling_config:
                    hostname: "backend.test:%DOWNSTREAM_LOCAL_PORT%"
                    headers_to_add:
                    - header: { key: x-original-port, value: "%DOWNSTREAM_LOCAL_PORT%" }
        """, terminator.port()), mode);
    byte[] payload = binary(250_000);
    assertThat(exchange(tunnelPort(), payload)).isEqualTo(payload);
    assertThat(echo.finsSeen.get()).isEqualTo(1); // the client's FIN went through as END_STREAM, then as a FIN
    int port = tunnelPort();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log))
        .contains("HTTP/2 CONNECT backend.test:" + port + " port=" + port + " 200 250000"));
  }

  /** An independent HTTP/2 peer (Netty): records each stream's request headers; answers {@code status}, echoes DATA. */
  private int netty(String status, LinkedBlockingQueue<Http2Headers> requests) throws Exception {
    peerGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    Channel server = new ServerBootstrap().group(peerGroup).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                  @Override
                  protected void initChannel(Http2StreamChannel stream) {
                    stream.pipeline().addLast(new SimpleChannelInboundHandler<Http2StreamFrame>() {
                      @Override
                      protected void channelRead0(ChannelHandlerContext ctx, Http2StreamFrame frame) {
                        if (frame instanceof Http2HeadersFrame h) {
                          requests.add(h.headers());
                          boolean refuse = !status.equals("200");
                          ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(status), refuse));
                        } else if (frame instanceof Http2DataFrame d) {
                          ctx.writeAndFlush(new DefaultHttp2DataFrame(d.content().retain(), d.isEndStream()));
                        }
                      }
                    });
                  }
                }));
          }
        }).bind("127.0.0.1", 0).sync().channel();
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Test
  void sendsConnectWithTheHostnameAndHeadersToAnIndependentHttp2Peer() throws Exception {
    LinkedBlockingQueue<Http2Headers> requests = new LinkedBlockingQueue<>();
    int peer = netty("200", requests);
    tunneler = new ProxyHarness(tunnelingListener("""
                  tunneling_config:
                    hostname: "db.internal:5432"
                    headers_to_add:
                    - header: { key: x-tenant, value: blue }
                    - header: { key: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" }
        """, peer), PipelineMode.INLINE);
    byte[] payload = binary(100_000);
    assertThat(exchange(tunnelPort(), payload)).isEqualTo(payload);
    Http2Headers h = requests.poll(10, TimeUnit.SECONDS);
    assertThat(h.method().toString()).isEqualTo("CONNECT");
    assertThat(h.authority().toString()).isEqualTo("db.internal:5432");
    assertThat(h.path()).isNull();
    assertThat(h.scheme()).isNull();
    assertThat(h.get("x-tenant").toString()).isEqualTo("blue");
    assertThat(h.get("x-client").toString()).isEqualTo("127.0.0.1");
  }

  @Test
  void usePostSendsAPostToPostPath() throws Exception {
    LinkedBlockingQueue<Http2Headers> requests = new LinkedBlockingQueue<>();
    int peer = netty("200", requests);
    tunneler = new ProxyHarness(tunnelingListener("""
                  tunneling_config:
                    hostname: "db.internal:5432"
                    use_post: true
                    post_path: /tunnel
        """, peer), PipelineMode.INLINE);
    byte[] payload = "through a POST".getBytes(StandardCharsets.US_ASCII);
    assertThat(exchange(tunnelPort(), payload)).isEqualTo(payload);
    Http2Headers h = requests.poll(10, TimeUnit.SECONDS);
    assertThat(h.method().toString()).isEqualTo("POST");
    assertThat(h.path().toString()).isEqualTo("/tunnel");
    assertThat(h.scheme().toString()).isEqualTo("http");
    assertThat(h.authority().toString()).isEqualTo("db.internal:5432");
  }

  /** A tcp_proxy's fields tunneling to db.internal:5432 over {@code cluster}, logging the response flags to {@code log}. */
  private static String tunnelLoggingFlags(String cluster, Path log) {
    return """
                  cluster: %s
                  tunneling_config: { hostname: "db.internal:5432" }
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: %s
                      log_format: { text_format_source: { inline_string: "%%RESPONSE_FLAGS%%\\n" } }
        """.formatted(cluster, log);
  }

  @Test
  void aRefusedTunnelClosesTheClientWithUf() throws Exception {
    LinkedBlockingQueue<Http2Headers> requests = new LinkedBlockingQueue<>();
    int peer = netty("403", requests);
    Path log = Files.createTempFile("tunnel", ".log");
    tunneler = new ProxyHarness(TcpProxyTest.tcpListener(tunnelLoggingFlags("h2", log), h2Cluster("h2", peer)),
        PipelineMode.INLINE);
    assertThat(closedWithNothing(tunnelPort())).isTrue();
    assertThat(requests.poll(10, TimeUnit.SECONDS)).isNotNull();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log)).contains("UF"));
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void carriesTcpInAnHttp11ConnectToKeelsonsOwnTerminationOverHttp11(PipelineMode mode) throws Exception {
    Path log = startTerminator(mode);
    tunneler = new ProxyHarness(TcpProxyTest.tcpListener("""
                  cluster: h1
                  tunneling_config:
                    hostname: "backend.test:%DOWNSTREAM_LOCAL_PORT%"
                    headers_to_add:
                    - header: { key: x-original-port, value: "%DOWNSTREAM_LOCAL_PORT%" }
        """, ProxyHarness.cluster("h1", "ROUND_ROBIN", terminator.port())), mode);
    byte[] payload = binary(250_000);
    assertThat(exchange(tunnelPort(), payload)).isEqualTo(payload);
    assertThat(echo.finsSeen.get()).isEqualTo(1); // the client's FIN went through both proxies as a FIN
    int port = tunnelPort();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log))
        .contains("HTTP/1.1 CONNECT backend.test:" + port + " port=" + port + " 200 250000"));
  }

  /**
   * An independent HTTP/1.1 proxy peer on a plain socket: reads the request head, answers {@code answer} (with the
   * first tunnel bytes in the same write when it is a 2xx), then echoes until the client's FIN.
   */
  private static java.net.ServerSocket http11Peer(String answer, LinkedBlockingQueue<String> heads) throws Exception {
    java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      try (server; Socket s = server.accept()) {
        s.setSoTimeout(15_000);
        heads.add(io.keelson.dataplane.testing.RawHttp.readHead(s.getInputStream()));
        OutputStream out = s.getOutputStream();
        out.write((answer + "\r\n\r\n" + (answer.startsWith("HTTP/1.1 2") ? "hello:" : "")).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        s.getInputStream().transferTo(out);
      } catch (Exception e) {
        heads.add("peer failed: " + e);
      }
    });
    return server;
  }

  @Test
  void sendsAnHttp11ConnectWithHostAndHeadersToAnIndependentPeerAndRelaysBytesBehindIts200() throws Exception {
    LinkedBlockingQueue<String> heads = new LinkedBlockingQueue<>();
    java.net.ServerSocket peer = http11Peer("HTTP/1.1 200 Connection established", heads);
    tunneler = new ProxyHarness(TcpProxyTest.tcpListener("""
                  cluster: h1
                  tunneling_config:
                    hostname: "db.internal:5432"
                    headers_to_add:
                    - header: { key: x-tenant, value: blue }
        """, ProxyHarness.cluster("h1", "ROUND_ROBIN", peer.getLocalPort())), PipelineMode.INLINE);
    byte[] payload = "bytes through an HTTP/1.1 tunnel".getBytes(StandardCharsets.US_ASCII);
    assertThat(new String(exchange(tunnelPort(), payload), StandardCharsets.US_ASCII))
        .isEqualTo("hello:bytes through an HTTP/1.1 tunnel");
    assertThat(heads.poll(10, TimeUnit.SECONDS))
        .isEqualTo("CONNECT db.internal:5432 HTTP/1.1\r\nhost: db.internal:5432\r\nx-tenant: blue\r\n\r\n");
  }

  /** Behind a PROXY protocol balancer, %DOWNSTREAM_REMOTE_ADDRESS% in an HTTP/1.1 tunnel is the header's client. */
  @Test
  void anHttp11TunnelNamesTheClientAProxyProtocolHeaderCarriedNotTheBalancer() throws Exception {
    LinkedBlockingQueue<String> heads = new LinkedBlockingQueue<>();
    java.net.ServerSocket peer = http11Peer("HTTP/1.1 200 Connection established", heads);
    tunneler = new ProxyHarness(ProxyHarness.listener("tcp", """
            - name: envoy.filters.listener.proxy_protocol
              typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol }
        """, """
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: echo
                  cluster: h1
                  tunneling_config:
                    hostname: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%:5432"
                    headers_to_add:
                    - header: { key: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS%" }
        """, ProxyHarness.cluster("h1", "ROUND_ROBIN", peer.getLocalPort())), PipelineMode.INLINE);
    byte[] payload = "PROXY TCP4 203.0.113.7 198.51.100.1 40000 5432\r\nbytes".getBytes(StandardCharsets.US_ASCII);
    String back;
    try (Socket s = new Socket("127.0.0.1", tunnelPort())) {
      s.setSoTimeout(15_000);
      s.getOutputStream().write(payload);
      back = new String(s.getInputStream().readNBytes("hello:bytes".length()), StandardCharsets.US_ASCII);
    }
    assertThat(heads.poll(10, TimeUnit.SECONDS))
        .isEqualTo("CONNECT 203.0.113.7:5432 HTTP/1.1\r\nhost: 203.0.113.7:5432\r\nx-client: 203.0.113.7:40000\r\n\r\n");
    assertThat(back).isEqualTo("hello:bytes");
  }

  /**
   * A ClientHello whose SNI carries CR LF (what %REQUESTED_SERVER_NAME% renders into the CONNECT line) closes the client
   * at once with UF, well before the cluster's connect_timeout, and nothing is written to the peer.
   */
  @Test
  void anSniThatCannotBeAHeaderValueFailsTheHttp11TunnelAtOnceWithUf() throws Exception {
    // A peer that never answers nor closes: only the proxy's own failure can end the connection before connect_timeout.
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    java.net.ServerSocket peer = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      try (peer; Socket s = peer.accept()) {
        received.add(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
      } catch (Exception e) {
        received.add("peer failed: " + e);
      }
    });
    Path log = Files.createTempFile("tunnel-sni", ".log");
    String chain = io.keelson.dataplane.testing.TlsYaml.passthroughChain("server_names: [\"*.example.com\"]", "", "t", "h1")
        + tunnelLoggingFlags("h1", log).replace("          cluster: h1\n", "")
        .replace("db.internal:5432", "%REQUESTED_SERVER_NAME%:443");
    tunneler = new ProxyHarness(io.keelson.dataplane.testing.TlsYaml.sniListener("tcp", chain,
        ProxyHarness.cluster("h1", "ROUND_ROBIN", peer.getLocalPort()).replace("connect_timeout: 1s", "connect_timeout: 60s")),
        PipelineMode.INLINE);
    byte[] hello = clientHello("zza.example.com");
    int at = indexOf(hello, "zza.example.com".getBytes(StandardCharsets.US_ASCII));
    hello[at] = '\r';
    hello[at + 1] = '\n';
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", tunnelPort())) {
      s.setSoTimeout(50_000);
      s.getOutputStream().write(hello);
      try {
        assertThat(s.getInputStream().read()).isEqualTo(-1);
      } catch (java.net.SocketException e) {
        assertThat(isReset(e)).as(e.toString()).isTrue();
      }
    }
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log)).contains("UF"));
    assertThat(received.poll(10, TimeUnit.SECONDS)).as("the upstream connection closed, no request written").isEmpty();
  }

  /** The JDK client's ClientHello naming {@code host} (SNI). */
  private static byte[] clientHello(String host) throws Exception {
    javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
    tls.init(null, null, null);
    javax.net.ssl.SSLEngine engine = tls.createSSLEngine(host, 443);
    engine.setUseClientMode(true);
    java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.wrap(java.nio.ByteBuffer.allocate(0), out);
    out.flip();
    byte[] b = new byte[out.remaining()];
    out.get(b);
    return b;
  }

  private static int indexOf(byte[] in, byte[] what) {
    for (int i = 0; i + what.length <= in.length; i++) {
      if (java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
        return i;
      }
    }
    throw new AssertionError("not found");
  }

  @Test
  void anHttp11PeerRefusingTheTunnelClosesTheClientWithUf() throws Exception {
    LinkedBlockingQueue<String> heads = new LinkedBlockingQueue<>();
    java.net.ServerSocket peer = http11Peer("HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0", heads);
    Path log = Files.createTempFile("tunnel-h1", ".log");
    tunneler = new ProxyHarness(TcpProxyTest.tcpListener(tunnelLoggingFlags("h1", log),
        ProxyHarness.cluster("h1", "ROUND_ROBIN", peer.getLocalPort())), PipelineMode.INLINE);
    assertThat(closedWithNothing(tunnelPort())).isTrue();
    assertThat(heads.poll(10, TimeUnit.SECONDS)).startsWith("CONNECT db.internal:5432 HTTP/1.1");
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(log)).contains("UF"));
  }

  @Test
  void rejectsPostTunnelingOverAClusterThatIsNotHttp2AndUnknownOperators() {
    String plainCluster = TcpProxyTest.tcpListener(
        "          cluster: h1\n          tunneling_config: { hostname: \"a:1\", use_post: true }\n",
        ProxyHarness.cluster("h1", "ROUND_ROBIN", 1));
    assertThatThrownBy(() -> new ProxyHarness(plainCluster, PipelineMode.INLINE))
        .hasStackTraceContaining("tunneling_config").hasStackTraceContaining("with use_post, which is not HTTP/2");
    assertThatThrownBy(() -> new ProxyHarness(tunnelingListener("          tunneling_config: { hostname: \"%UPSTREAM_HOST%:1\" }\n", 1),
        PipelineMode.INLINE)).hasStackTraceContaining("tunneling_config.hostname")
        .hasStackTraceContaining("%UPSTREAM_HOST% is not supported here");
  }

  /**
   * Envoy keeps the tunnel's response headers in the connection's filter state for other filters and
   * %FILTER_STATE(...)%; Keelson has neither, so the field is refused by its path, not dropped.
   */
  @Test
  void refusesPropagateResponseHeadersByFieldPathSayingWhy() {
    assertThatThrownBy(() -> new ProxyHarness(tunnelingListener(
        "          tunneling_config: { hostname: \"a:1\", propagate_response_headers: true }\n", 1), PipelineMode.INLINE))
        .hasStackTraceContaining("tunneling_config.propagate_response_headers")
        .hasStackTraceContaining("%FILTER_STATE(...)%");
  }
}
