package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.address;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A health-checked cluster added over xDS warms without holding up xDS, as Envoy warms a cluster: its
 * upstream holds the first health check unanswered (check timeout 60 s), and meanwhile a new listener
 * sent over LDS/RDS is bound and serves at once, and the listener routing to the warming cluster answers
 * 503 (no cluster yet). When the held check is answered 200 the cluster joins the snapshot in force then
 * (the newest), so the later listener keeps serving. Real sockets and a real xDS server
 * (java-control-plane). On the old code the xDS thread sat in install for the whole check timeout.
 */
class XdsClusterWarmingTest {
  private static final Duration PROMPT = Duration.ofSeconds(10);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void aClusterWarmingItsHealthChecksDoesNotHoldUpOtherListenersAndJoinsTheNewestSnapshotWhenWarm() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        HeldHealthUpstream slow = new HeldHealthUpstream("slow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), false, Node.newBuilder().setId("warming").build()),
            proxy.server::install)) {
      int ingress = proxy.port();
      int warmPort = freePort();
      int extraPort = freePort();
      List<Cluster> clusters = List.of(edsCluster("v1"), healthChecked("slow"));
      var eps = List.of(endpoints("v1", v1.port(), 1), endpoints("slow", slow.port(), 1));
      List<RouteConfiguration> routes = List.of(route("v1", "1"), named(route("slow", "1"), "slow_route"),
          named(route("v1", "1"), "extra_route"));

      // 1: the slow cluster arrives; its first check is held unanswered.
      controlPlane.set(snapshot("1", clusters, eps, List.of(listener(ingress), namedListener("warm", warmPort, "slow_route")), routes));
      await().atMost(PROMPT).until(() -> slow.healthChecksHeld.get() > 0);
      await().atMost(PROMPT).until(() -> proxy.server.boundListeners().containsKey("warm"));
      assertThat(proxy.server.snapshot().warmingClusters()).containsExactly("slow");
      assertThat(get(warmPort, "/w").statusCode()).as("no cluster while it warms, as Envoy").isEqualTo(503);

      // 2: another listener comes over LDS/RDS while the check is still held: served promptly.
      controlPlane.set(snapshot("2", clusters, eps,
          List.of(listener(ingress), namedListener("warm", warmPort, "slow_route"), namedListener("extra", extraPort, "extra_route")), routes));
      await().atMost(PROMPT).until(() -> proxy.server.boundListeners().containsKey("extra"));
      assertThat(upstream(extraPort, "/x")).isEqualTo("v1");
      assertThat(upstream(ingress, "/i")).isEqualTo("v1");
      assertThat(slow.healthChecksAnswered.get()).as("the first check is still held").isZero();
      assertThat(slow.workRequests.get()).isZero();

      // The check passes: the cluster is live, in the newest snapshot (version 2, with 'extra').
      slow.release();
      await().atMost(PROMPT).until(() -> proxy.server.snapshot().cluster("slow") != null);
      assertThat(proxy.server.snapshot().warmingClusters()).isEmpty();
      assertThat(proxy.server.snapshot().config().version()).contains("LDS=2");
      assertThat(upstream(warmPort, "/w")).isEqualTo("slow");
      assertThat(upstream(extraPort, "/x")).isEqualTo("v1");
      assertThat(client.stats().rejected(ResourceType.CLUSTER)).isZero();
    }
  }

  @Test
  void aClusterRemovedWhileWarmingNeverComesBack() throws Exception {
    try (TestUpstream v1 = new TestUpstream("v1");
        HeldHealthUpstream slow = new HeldHealthUpstream("slow");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), true, Node.newBuilder().setId("warming").build()),
            proxy.server::install)) {
      int ingress = proxy.port();
      var routes = List.of(route("v1", "1"));
      controlPlane.set(snapshot("1", List.of(edsCluster("v1"), healthChecked("slow")),
          List.of(endpoints("v1", v1.port(), 1), endpoints("slow", slow.port(), 1)), List.of(listener(ingress)), routes));
      await().atMost(PROMPT).until(() -> slow.healthChecksHeld.get() > 0);
      controlPlane.set(snapshot("2", List.of(edsCluster("v1")), List.of(endpoints("v1", v1.port(), 1)), List.of(listener(ingress)),
          routes));
      await().atMost(PROMPT).until(() -> client.lastSnapshot() != null && client.lastSnapshot().version().contains("CDS=2"));
      await().atMost(PROMPT).until(() -> proxy.server.snapshot().config().version().contains("CDS=2"));
      slow.release(); // the stopped checker's answer must not bring the removed cluster back
      Thread.sleep(500); // nothing to wait for: checks that something does not happen
      assertThat(proxy.server.snapshot().cluster("slow")).isNull();
      assertThat(proxy.server.snapshot().warmingClusters()).isEmpty();
      assertThat(proxy.server.snapshot().config().version()).contains("CDS=2");
      assertThat(upstream(ingress, "/i")).isEqualTo("v1");
    }
  }

  /** An EDS cluster with an HTTP health check whose timeout (60 s) outlasts the test. */
  private static Cluster healthChecked(String name) {
    return edsCluster(name).toBuilder()
        .addHealthChecks(HealthCheck.newBuilder()
            .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(60))
            .setInterval(com.google.protobuf.Duration.newBuilder().setSeconds(1))
            .setUnhealthyThreshold(UInt32Value.of(1))
            .setHealthyThreshold(UInt32Value.of(1))
            .setHttpHealthCheck(HealthCheck.HttpHealthCheck.newBuilder().setPath("/healthz")))
        .build();
  }

  private static RouteConfiguration named(RouteConfiguration r, String name) {
    return r.toBuilder().setName(name).build();
  }

  /** The mesh listener under another name and port, on route configuration {@code routeName}. */
  private static Listener namedListener(String name, int port, String routeName) throws Exception {
    Listener base = listener(0);
    var chain = base.getFilterChains(0);
    var filter = chain.getFilters(0);
    HttpConnectionManager hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class);
    hcm = hcm.toBuilder().setStatPrefix(name).setRds(hcm.getRds().toBuilder().setRouteConfigName(routeName)).build();
    return base.toBuilder().setName(name).setAddress(address("127.0.0.1", port))
        .setFilterChains(0, chain.toBuilder().setFilters(0, filter.toBuilder().setTypedConfig(Any.pack(hcm))))
        .build();
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Which upstream answered (its x-upstream header), asserting a 200. */
  private String upstream(int port, String path) throws Exception {
    HttpResponse<String> r = get(port, path);
    assertThat(r.statusCode()).as(path + " on port " + port).isEqualTo(200);
    return r.headers().firstValue("x-upstream").orElse("");
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * An HTTP upstream that holds every {@code /healthz} request unanswered until {@link #release}, then
   * answers it 200; other paths answer 200 with its name at once. Thread-safe.
   */
  private static final class HeldHealthUpstream implements AutoCloseable {
    final AtomicInteger healthChecksHeld = new AtomicInteger();
    final AtomicInteger healthChecksAnswered = new AtomicInteger();
    final AtomicInteger workRequests = new AtomicInteger();
    private final CountDownLatch gate = new CountDownLatch(1);
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpServer server;

    HeldHealthUpstream(String name) throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
      server.setExecutor(threads);
      server.createContext("/", exchange -> {
        if (exchange.getRequestURI().getPath().equals("/healthz")) {
          healthChecksHeld.incrementAndGet();
          try {
            gate.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          healthChecksAnswered.incrementAndGet();
        } else {
          workRequests.incrementAndGet();
        }
        byte[] body = name.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("x-upstream", name);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }

    void release() {
      gate.countDown();
    }

    @Override
    public void close() {
      gate.countDown();
      server.stop(0);
      threads.shutdownNow();
    }
  }
}
