package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code Cluster.upstream_bind_config.source_address}: every upstream connection of such a cluster leaves from that
 * address (as Envoy binds it before connecting), on each connect path: HTTP/1.1 requests, HTTP/2 (h2c) upstream
 * connections, tcp_proxy and TCP health checks; a cluster without it leaves from the kernel's choice (127.0.0.1 here).
 * Real backends on 127.0.0.1 record the peer address of every connection they accept; 127.0.0.6 is local on Linux's
 * {@code lo} (all of 127/8 is), so no set-up is needed. And the BindConfig fields Keelson does not run are rejected by
 * field path.
 */
class UpstreamBindConfigTest {
  private static final String SOURCE = "127.0.0.6";
  /** ::1 as Java prints a peer's address. */
  private static final String V6 = "0:0:0:0:0:0:0:1";

  private EventLoopGroup group;
  private Channel h1;
  private Channel h2;
  private final List<String> h1Peers = new CopyOnWriteArrayList<>();
  private final List<String> h2Peers = new CopyOnWriteArrayList<>();
  private final List<String> tcpPeers = new CopyOnWriteArrayList<>();
  private Channel tcp;

  @BeforeEach
  void startBackends() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    h1 = serve(h1Backend(h1Peers), "127.0.0.1");
    h2 = serve(h2Backend(h2Peers), "127.0.0.1");
    tcp = serve(tcpBackend(tcpPeers), "127.0.0.1");
  }

  /** An HTTP/1.1 backend that records each connection's peer in {@code peers} and answers {@link PeerReply}. */
  private static ChannelInitializer<SocketChannel> h1Backend(List<String> peers) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        peers.add(ch.remoteAddress().getAddress().getHostAddress());
        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new PeerReply());
      }
    };
  }

  /** An h2c (prior knowledge) backend that records each connection's peer and answers {@link PeerReply}. */
  private static ChannelInitializer<SocketChannel> h2Backend(List<String> peers) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        peers.add(ch.remoteAddress().getAddress().getHostAddress());
        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new Http2MultiplexHandler(
            new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel s) {
                s.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpObjectAggregator(1 << 16),
                    new PeerReply());
              }
            }));
      }
    };
  }

  /** A TCP backend that records each connection's peer, writes {@code peer=<it>} and closes. */
  private static ChannelInitializer<SocketChannel> tcpBackend(List<String> peers) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        String peer = ch.remoteAddress().getAddress().getHostAddress();
        peers.add(peer);
        ch.writeAndFlush(Unpooled.copiedBuffer("peer=" + peer + "\n", StandardCharsets.US_ASCII))
            .addListener(f -> ch.close());
      }
    };
  }

  /** {@code bootstrap} with a tcp_proxy listener {@code tcp} (127.0.0.1, ephemeral port) to cluster {@code tcp}. */
  private static String withTcpListener(String bootstrap) {
    return bootstrap.replace("  clusters:\n", """
          - name: tcp
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: tcp
                  cluster: tcp
          clusters:
        """);
  }

  @AfterEach
  void stopBackends() {
    for (Channel c : new Channel[] {h1, h2, tcp}) {
      if (c != null) {
        c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      }
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private Channel serve(ChannelInitializer<SocketChannel> init, String host) throws InterruptedException {
    return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class).childHandler(init)
        .bind(new InetSocketAddress(host, 0)).sync().channel();
  }

  private static int port(Channel c) {
    return ((InetSocketAddress) c.localAddress()).getPort();
  }

  /** Answers every request with {@code peer=<the connection's remote address>}. */
  private static final class PeerReply extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      Channel connection = ctx.channel() instanceof Http2StreamChannel ? ctx.channel().parent() : ctx.channel();
      String body = "peer=" + ((InetSocketAddress) connection.remoteAddress()).getAddress().getHostAddress();
      var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
          Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
      HttpUtil.setContentLength(res, body.length());
      ctx.writeAndFlush(res);
    }
  }

  private static String bound(String cluster, int port, String extra) {
    return ProxyHarness.cluster(cluster, "ROUND_ROBIN", port).replace("    type: STATIC\n", "    type: STATIC\n" + extra
        + "    upstream_bind_config: { source_address: { address: " + SOURCE + ", port_value: 0 } }\n");
  }

  @Test
  void everyUpstreamConnectionOfABoundClusterLeavesFromItsSourceAddress() throws Exception {
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - { match: { prefix: "/h1" }, route: { cluster: h1 } }
                      - { match: { prefix: "/h2" }, route: { cluster: h2 } }
                      - { match: { prefix: "/plain" }, route: { cluster: plain } }
        """;
    String clusters = bound("h1", port(h1), "") + bound("h2", port(h2), "    http2_protocol_options: {}\n")
        + ProxyHarness.cluster("plain", "ROUND_ROBIN", port(h1))
        + bound("tcp", port(tcp), """
                health_checks:
                - { timeout: 1s, interval: 0.2s, no_traffic_interval: 0.2s, unhealthy_threshold: 1, healthy_threshold: 1,
                    tcp_health_check: {} }
            """);
    String yaml = withTcpListener(ProxyHarness.bootstrap(routes, clusters));
    try (ProxyHarness proxy = new ProxyHarness(yaml, io.keelson.dataplane.pipeline.PipelineMode.INLINE)) {
      for (int i = 0; i < 3; i++) { // kept-alive and new connections alike
        assertThat(proxy.get("/h1/" + i).body()).isEqualTo("peer=" + SOURCE);
        assertThat(proxy.get("/h2/" + i).body()).isEqualTo("peer=" + SOURCE);
      }
      assertThat(proxy.get("/plain").body()).as("a cluster without upstream_bind_config").isEqualTo("peer=127.0.0.1");
      assertThat(h2Peers).as("HTTP/2 upstream connections").isNotEmpty().containsOnly(SOURCE);

      // The health checker's connections come first (the cluster warms up), then tcp_proxy's.
      await().atMost(Duration.ofSeconds(10)).until(() -> tcpPeers.size() >= 2);
      int checks = tcpPeers.size();
      try (Socket s = new Socket("127.0.0.1", proxy.server.listenerAddress("tcp").getPort())) {
        s.setSoTimeout(5000);
        InputStream in = s.getInputStream();
        assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("peer=" + SOURCE + "\n");
      }
      assertThat(tcpPeers).as("tcp_proxy and health-check connections").hasSizeGreaterThan(checks).containsOnly(SOURCE);
    }
    assertThat(h1Peers).containsOnly(SOURCE, "127.0.0.1").contains(SOURCE);
  }

  /**
   * Cluster {@code name} bound to {@value #SOURCE} with {@code extra_source_addresses ::1}, one endpoint on each backend:
   * the IPv4 one on 127.0.0.1 and the IPv6 one on ::1.
   */
  private static String dualStack(String name, Channel v4, Channel v6, String extra) {
    return ProxyHarness.cluster(name, "ROUND_ROBIN", port(v4), port(v6))
        .replace("address: 127.0.0.1, port_value: " + port(v6) + " ", "address: \"::1\", port_value: " + port(v6) + " ")
        .replace("    type: STATIC\n", "    type: STATIC\n" + extra + "    upstream_bind_config: { source_address: { address: "
            + SOURCE + ", port_value: 0 }, extra_source_addresses: [ { address: { address: \"::1\", port_value: 0 } } ] }\n");
  }

  @Test
  void extraSourceAddressesBindTheSourceOfTheDestinationsFamilyOnEveryConnectPath() throws Exception {
    // IPv6 twins of the backends: each records its peers apart.
    List<String> h1Peers6 = new CopyOnWriteArrayList<>();
    List<String> h2Peers6 = new CopyOnWriteArrayList<>();
    List<String> tcpPeers6 = new CopyOnWriteArrayList<>();
    Channel h1v6 = serve(h1Backend(h1Peers6), "::1");
    Channel h2v6 = serve(h2Backend(h2Peers6), "::1");
    Channel tcpV6 = serve(tcpBackend(tcpPeers6), "::1");
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/h1" }
                        route: { cluster: h1, request_mirror_policies: [ { cluster: mirror } ] }
                      - { match: { prefix: "/h2" }, route: { cluster: h2 } }
        """;
    String healthCheck = """
            health_checks:
            - { timeout: 1s, interval: 0.2s, no_traffic_interval: 0.2s, unhealthy_threshold: 1, healthy_threshold: 1,
                tcp_health_check: {} }
        """;
    String clusters = dualStack("h1", h1, h1v6, "") + dualStack("h2", h2, h2v6, "    http2_protocol_options: {}\n")
        + dualStack("mirror", h2, h2v6, "    http2_protocol_options: {}\n") + dualStack("tcp", tcp, tcpV6, healthCheck);
    String yaml = withTcpListener(ProxyHarness.bootstrap(routes, clusters));
    try (ProxyHarness proxy = new ProxyHarness(yaml, io.keelson.dataplane.pipeline.PipelineMode.INLINE)) {
      List<String> h1Answers = new java.util.ArrayList<>();
      List<String> h2Answers = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) { // round robin: both endpoints, kept-alive and new connections alike
        h1Answers.add(proxy.get("/h1/" + i).body());
        h2Answers.add(proxy.get("/h2/" + i).body());
      }
      assertThat(h1Answers).as("HTTP/1.1").containsOnly("peer=" + SOURCE, "peer=" + V6).contains("peer=" + SOURCE, "peer=" + V6);
      assertThat(h2Answers).as("HTTP/2").containsOnly("peer=" + SOURCE, "peer=" + V6).contains("peer=" + SOURCE, "peer=" + V6);
      await().atMost(Duration.ofSeconds(10)).until(() -> tcpPeers.size() >= 1 && tcpPeers6.size() >= 1); // health checks
      List<String> tcpAnswers = new java.util.ArrayList<>();
      for (int i = 0; i < 10 && new java.util.HashSet<>(tcpAnswers).size() < 2; i++) { // until both endpoints answered
        try (Socket s = new Socket("127.0.0.1", proxy.server.listenerAddress("tcp").getPort())) {
          s.setSoTimeout(5000);
          tcpAnswers.add(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
      }
      assertThat(tcpAnswers).as("tcp_proxy").containsOnly("peer=" + SOURCE + "\n", "peer=" + V6 + "\n")
          .contains("peer=" + SOURCE + "\n", "peer=" + V6 + "\n");
      // Mirrored copies of the h1 requests reach the mirror cluster's two endpoints too.
      await().atMost(Duration.ofSeconds(10)).until(() -> h2Peers.size() + h2Peers6.size() >= 2 && !h2Peers6.isEmpty());
    } finally {
      for (Channel c : new Channel[] {h1v6, h2v6, tcpV6}) {
        c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      }
    }
    assertThat(h1Peers).as("HTTP/1.1 to 127.0.0.1").isNotEmpty().containsOnly(SOURCE);
    assertThat(h1Peers6).as("HTTP/1.1 to ::1").isNotEmpty().containsOnly(V6);
    assertThat(h2Peers).as("HTTP/2 and mirroring to 127.0.0.1").isNotEmpty().containsOnly(SOURCE);
    assertThat(h2Peers6).as("HTTP/2 and mirroring to ::1").isNotEmpty().containsOnly(V6);
    assertThat(tcpPeers).as("tcp_proxy and health checks to 127.0.0.1").hasSizeGreaterThan(1).containsOnly(SOURCE);
    assertThat(tcpPeers6).as("tcp_proxy and health checks to ::1").hasSizeGreaterThan(1).containsOnly(V6);
  }

  @Test
  void rejectsExtraSourceAddressesEnvoysDefaultSelectorRefuses() {
    String at = "config.yaml: static_resources.clusters[0].upstream_bind_config.extra_source_addresses";
    String base = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9));
    assertThat(rejected(base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config:
              source_address: { address: 127.0.0.6, port_value: 0 }
              extra_source_addresses: [ { address: { address: 127.0.0.7, port_value: 0 } } ]
        """)).problems()).anySatisfy(p -> assertThat(p).startsWith(at + "[0].address: '127.0.0.7' is of the same IP"
        + " family as source_address '127.0.0.6'"));
    assertThat(rejected(base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config:
              extra_source_addresses: [ { address: { address: "::6", port_value: 0 } } ]
        """)).problems()).anySatisfy(p -> assertThat(p).startsWith(at + ": extra source addresses need"
        + " upstream_bind_config.source_address"));
    assertThat(rejected(base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config:
              source_address: { address: 127.0.0.6, port_value: 0 }
              extra_source_addresses: [ { address: { address: "::6", port_value: 0 } },
                                        { address: { address: "::7", port_value: 0 } } ]
        """)).problems()).anySatisfy(p -> assertThat(p).startsWith(at + ": 2 addresses; expected one"));
    assertThat(rejected(base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config:
              source_address: { address: 127.0.0.6, port_value: 0 }
              extra_source_addresses: [ { address: { address: "::6", port_value: 7 },
                                          socket_options: { socket_options: [] } } ]
        """)).problems()).anySatisfy(p -> assertThat(p).startsWith(at + "[0].address.port_value: 7 is not supported"))
        .anySatisfy(p -> assertThat(p).startsWith(at + "[0].socket_options: "));
  }

  @Test
  void requestsFromHttp2ClientsLeaveFromTheSourceAddressAndAreNotPooledWithOtherClusters() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("sh", "-c", "command -v curl").start().waitFor() == 0,
        "curl is not installed");
    String routes = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - { match: { prefix: "/h1" }, route: { cluster: h1 } }
                      - { match: { prefix: "/plain" }, route: { cluster: plain } }
        """;
    String clusters = bound("h1", port(h1), "") + ProxyHarness.cluster("plain", "ROUND_ROBIN", port(h1));
    // One event loop: every h2c connection shares the loop's upstream pool (Http2ServerSupport.upstreams).
    try (var proxies = new io.keelson.dataplane.testing.RunningProxies()) {
      ProxyServer proxy = proxies.start(ProxyHarness.bootstrap(routes, clusters), 1);
      String base = "http://127.0.0.1:" + proxy.listenerAddress("ingress").getPort();
      for (String path : List.of("/h1/a", "/plain/b", "/h1/c", "/plain/d")) {
        // A connection per request (curl 7.88 cannot send a second request on a prior-knowledge h2c connection).
        Process curl = new ProcessBuilder("curl", "-s", "--http2-prior-knowledge", "--max-time", "10", base + path)
            .redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(curl.waitFor()).as(out).isZero();
        assertThat(out).as(path).isEqualTo(path.startsWith("/h1") ? "peer=" + SOURCE : "peer=127.0.0.1");
      }
    }
  }

  private static ConfigException rejected(String yaml) {
    try {
      BootstrapLoader.fromYaml(yaml, "config.yaml");
    } catch (ConfigException e) {
      return e;
    }
    throw new AssertionError("config was accepted:\n" + yaml);
  }

  @Test
  void rejectsWhatKeelsonDoesNotRunByFieldPath() {
    String at = "config.yaml: static_resources.clusters[0].upstream_bind_config";
    String base = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9));
    String yaml = base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config:
              source_address: { address: 127.0.0.6, port_value: 40000 }
              freebind: true
              socket_options: [ { level: 1, name: 2, int_value: 1 } ]
              additional_source_addresses: [ { address: "::6", port_value: 0 } ]
        """);
    assertThat(rejected(yaml).problems()).anySatisfy(p -> assertThat(p).startsWith(at + ".freebind: "))
        .anySatisfy(p -> assertThat(p).startsWith(at + ".socket_options: "))
        .anySatisfy(p -> assertThat(p).startsWith(at + ".additional_source_addresses: "))
        .anySatisfy(p -> assertThat(p).startsWith(at + ".source_address.port_value: 40000 is not supported; expected 0"));

    String hostName = base.replace("    type: STATIC\n", """
            type: STATIC
            upstream_bind_config: { source_address: { address: localhost, port_value: 0 } }
        """);
    assertThat(rejected(hostName).problems()).anySatisfy(p -> assertThat(p)
        .startsWith(at + ".source_address.address: 'localhost' is not an IP address"));

  }

  @Test
  void aBindConfigWithoutSourceAddressBindsNothingAsInEnvoy() throws Exception {
    String yaml = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", 9))
        .replace("    type: STATIC\n", "    type: STATIC\n    upstream_bind_config: {}\n");
    var snapshot = BootstrapLoader.fromYaml(yaml, "config.yaml");
    assertThat(snapshot.clusters().get("backend").sourceAddress()).isNull();
    assertThat(snapshot.warnings()).isEmpty();
  }

  @Test
  void epollDefersThePortToConnectTimeOtherTransportsBindTheSourceAsIs() throws Exception {
    for (Transport t : Transport.values()) {
      if (t.unavailabilityCause() != null) {
        continue;
      }
      EventLoopGroup loop = t.newGroup(1, "bind-" + t.label());
      try {
        Channel ch = t.bindSource(new io.netty.bootstrap.Bootstrap().group(loop).channel(t.clientChannel())
                .handler(new io.netty.channel.ChannelInboundHandlerAdapter()), new InetSocketAddress(SOURCE, 0))
            .connect(h1.localAddress()).sync().channel();
        assertThat(((InetSocketAddress) ch.localAddress()).getAddress().getHostAddress()).as(t.label()).isEqualTo(SOURCE);
        if (t == Transport.EPOLL) {
          assertThat(((io.netty.channel.epoll.EpollSocketChannel) ch).config().isIpBindAddressNoPort()).isTrue();
        }
        ch.close().sync();
      } finally {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      }
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> h1Peers.size() >= 2); // NIO and at least one native transport
    assertThat(h1Peers).containsOnly(SOURCE);
  }
}
