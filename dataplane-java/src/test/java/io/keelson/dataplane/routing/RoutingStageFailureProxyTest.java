package io.keelson.dataplane.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.http1.Http1ProxyInitializer;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End to end, over real sockets: a routing stage that throws on one request gets that request a 500
 * with the routing-failed body, never reaches the upstream, and costs only itself: the same HTTP/1.1
 * keep-alive connection (or HTTP/2 connection) serves the next request with a 200. Both pipeline modes.
 *
 * <p>No production stage or filter throws, so the proxy here is wired by hand from the same public
 * pieces {@code ProxyServer} uses ({@link ProxyContext}, {@link Http1ProxyInitializer} on a Netty
 * server bootstrap, cleartext HTTP/1.1 and h2c on one port), with routing pipelines built through the
 * package-private constructor that takes the stages: the real ones plus one that throws on {@code /boom}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RoutingStageFailureProxyTest {
  /** {@code http1.LocalReply.ROUTING_FAILED} and {@code http2.StreamProxy.ROUTING_FAILED} (package-private there). */
  private static final String ROUTING_FAILED = "internal error while routing the request";

  private final AtomicInteger thrown = new AtomicInteger();
  private TestUpstream upstream;
  private RoutingPipelines pipelines;
  private EventLoopGroup workers;
  private Channel listener;
  private final ChannelGroup connections = new DefaultChannelGroup("test-downstream", GlobalEventExecutor.INSTANCE);

  /**
   * After the route stage (which clears the event's outputs, failure included, so a stage before it
   * would be forgotten): throws on {@code /boom} requests, which the route stage has just routed to a
   * forwarding cluster, so the 500 cannot come from a missing route.
   */
  private final class ThrowOnBoom implements Stage<RoutingEvent> {
    @Override
    public void onEvent(RoutingEvent event) {
      if (event.head.path().startsWith("/boom") && event.cluster != null) { // routed, else no throw (and the test fails)
        thrown.incrementAndGet();
        throw new IllegalStateException("test: a routing stage failing on one request");
      }
    }
  }

  /** Starts the upstream and a proxy routing everything to it; returns the proxy's port. */
  private int startProxy(PipelineMode mode) throws Exception {
    upstream = new TestUpstream("a");
    ProxySnapshot config = BootstrapLoader.fromYaml(
        ProxyHarness.bootstrap(ProxyHarness.allTo("a"), ProxyHarness.cluster("a", "ROUND_ROBIN", upstream.port())), "test.yaml");
    List<Supplier<? extends Stage<RoutingEvent>>> stages =
        List.of(RouteStage::new, ThrowOnBoom::new, PolicyStage::new, BalanceStage::new);
    pipelines = new RoutingPipelines(mode, 64, stages);
    StatsRegistry stats = new StatsRegistry();
    Transport transport = Transport.select("auto");
    ProxyContext context = new ProxyContext(ServingSnapshot.compile(config, stats), pipelines, transport, stats);
    ListenerConfig l = config.listeners().get(0);
    workers = transport.newGroup(2, "test-worker");
    listener = new ServerBootstrap().group(workers).channel(transport.serverChannel())
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new Http1ProxyInitializer(context, l, connections))
        .bind(l.host(), 0).sync().channel();
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  @AfterEach
  void stop() {
    if (listener != null) {
      listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    if (workers != null) {
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (pipelines != null) {
      pipelines.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void http1AFailingStageAnswers500AndTheSameKeepAliveConnectionServesTheNextRequest(PipelineMode mode) throws Exception {
    int port = startProxy(mode);
    try (RawHttp conn = new RawHttp(port)) { // reads time out after 10 s: nothing waits forever
      conn.send("GET /ok/1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
      assertThat(conn.read().status()).as("a normal request before the failure").isEqualTo(200);

      conn.send("GET /boom HTTP/1.1\r\nHost: localhost\r\n\r\n");
      RawHttp.Response failed = conn.read();
      assertThat(failed.status()).isEqualTo(500);
      assertThat(failed.body()).isEqualTo(ROUTING_FAILED);
      assertThat(String.valueOf(failed.header("connection"))).as("the failure keeps the connection").doesNotContainIgnoringCase("close");

      conn.send("GET /ok/2 HTTP/1.1\r\nHost: localhost\r\n\r\n");
      RawHttp.Response next = conn.read();
      assertThat(next.status()).as("the same connection serves the next request").isEqualTo(200);
      assertThat(next.header("x-upstream")).isEqualTo("a");
    }
    assertThat(thrown.get()).isEqualTo(1);
    assertThat(upstream.requestLines).as("the upstream never saw the failed request")
        .containsExactly("GET /ok/1 HTTP/1.1", "GET /ok/2 HTTP/1.1");
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void http2AFailingStageAnswers500OnItsStreamAndTheConnectionServesTheNextStream(PipelineMode mode) throws Exception {
    int port = startProxy(mode);
    try (H2Client client = new H2Client(port)) {
      FullHttpResponse failed = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/boom"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(failed.status().code()).isEqualTo(500);
        assertThat(failed.content().toString(StandardCharsets.UTF_8)).isEqualTo(ROUTING_FAILED);
      } finally {
        failed.release();
      }

      FullHttpResponse next = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ok"))
          .get(10, TimeUnit.SECONDS);
      try {
        assertThat(next.status().code()).as("the same connection serves the next stream").isEqualTo(200);
        assertThat(next.headers().get("x-upstream")).isEqualTo("a");
      } finally {
        next.release();
      }
    }
    assertThat(thrown.get()).isEqualTo(1);
    assertThat(upstream.requestLines).as("the upstream never saw the failed request").hasSize(1);
    assertThat(upstream.requestLines.getFirst()).startsWith("GET /ok ");
  }
}
