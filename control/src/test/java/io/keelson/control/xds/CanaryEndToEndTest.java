package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Keelson's data plane (a real ProxyServer fed by its XdsClient) driven by Keelson's control plane:
 * Istio's canary example as written, then the split shifted under load, with no failed request.
 */
class CanaryEndToEndTest {
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger failures = new AtomicInteger();
  private final AtomicReference<String> firstFailure = new AtomicReference<>();
  /** The measurement in progress ({@link #share}); requests sent while it is current are recorded into it. */
  private final AtomicReference<Window> window = new AtomicReference<>(new Window(0));
  private static final String BOOTSTRAP = OutboundBootstrap.BOOTSTRAP;


  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void canarySplitIsFollowedAndShiftsUnderLoadWithoutAFailedRequest(boolean delta) throws Exception {
    PolicyStore store = new PolicyStore();
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(BOOTSTRAP, PipelineMode.INLINE);
        // The outbound port the control plane sends is the one the proxy bound (listeners follow LDS).
        XdsServer xds = new XdsServer(store, proxy.server.listenerAddress("outbound").getPort()).start("127.0.0.1", 0);
        XdsClient client = XdsClient.start(
            XdsClientConfig.of("127.0.0.1", xds.port(), delta, Node.newBuilder().setId("client-sidecar").build())
                .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)),
            proxy.server::update)) {
      Mesh.applyCanary(store, v1.port(), v2.port());
      awaitApplied(xds, client);

      Thread load = startLoad(proxy.server.listenerAddress("outbound").getPort());
      try {
        assertThat(share("v2")).as("v2's share at 90/10").isBetween(0.05, 0.15);
        apply(store, Mesh.split(50, 50));
        awaitApplied(xds, client);
        assertThat(share("v2")).as("v2's share at 50/50").isBetween(0.42, 0.58);
        long pushesBefore = xds.pushes();
        for (int i = 1; i <= 20; i++) {
          apply(store, Mesh.split(50 - i, 50 + i));
          awaitApplied(xds, client);
        }
        assertThat(xds.pushes() - pushesBefore).as("snapshots pushed").isGreaterThanOrEqualTo(20);
        apply(store, Mesh.split(0, 100));
        awaitApplied(xds, client);
        assertThat(share("v2")).as("v2's share at 0/100").isEqualTo(1.0);
      } finally {
        running.set(false);
        load.join(10_000);
      }
      assertThat(failures.get()).as("failed requests (first: %s)", firstFailure.get()).isZero();
      ProxyStatus status = xds.status().getFirst();
      assertThat(status.nodeId()).isEqualTo("client-sidecar");
      assertThat(status.types().get("routes").state()).isEqualTo("ACK");
      assertThat(status.types().get("routes").acked()).isEqualTo(xds.current().routesVersion());
    }
  }

  @org.junit.jupiter.api.Test
  void theControlPlaneKilledAndRestartedUnderLoadCostsNoRequest(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    io.keelson.control.store.DataDir data = new io.keelson.control.store.DataDir(tmp);
    PolicyStore store = new PolicyStore(data);
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(BOOTSTRAP, PipelineMode.INLINE)) {
      int outbound = proxy.server.listenerAddress("outbound").getPort(); // listeners follow LDS: keep the bound one
      XdsServer first = new XdsServer(store, outbound).start("127.0.0.1", 0);
      int port = first.port();
      try (XdsClient client = XdsClient.start(
          XdsClientConfig.of("127.0.0.1", port, false, Node.newBuilder().setId("client-sidecar").build())
              .withBackoff(Duration.ofMillis(50), Duration.ofMillis(200)),
          proxy.server::update)) {
        Mesh.applyCanary(store, v1.port(), v2.port());
        awaitApplied(first, client);
        Thread load = startLoad(proxy.server.listenerAddress("outbound").getPort());
        try {
          assertThat(share("v2")).as("v2's share at 90/10").isBetween(0.05, 0.15);
          first.close(); // the control plane goes away: the proxy keeps serving its last accepted config
          await().atMost(Duration.ofSeconds(5)).until(() -> !client.stats().connected());
          assertThat(share("v2")).as("v2's share with the control plane down").isBetween(0.05, 0.15);

          PolicyStore restored = new PolicyStore(new io.keelson.control.store.DataDir(tmp));
          try (XdsServer second = new XdsServer(restored, outbound).start("127.0.0.1", port)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> second.nodeIds().contains("client-sidecar"));
            apply(restored, Mesh.split(50, 50));
            awaitApplied(second, client);
            assertThat(share("v2")).as("v2's share at 50/50 after the restart").isBetween(0.42, 0.58);
          }
        } finally {
          running.set(false);
          load.join(10_000);
        }
      }
    }
    assertThat(failures.get()).as("failed requests (first: %s)", firstFailure.get()).isZero();
  }

  /** Sends requests for product-service over one kept-alive connection until {@code running} turns false. */
  private Thread startLoad(int port) {
    return Thread.ofVirtual().start(() -> {
      RawHttp http = null;
      while (running.get()) {
        try {
          if (http == null) {
            http = new RawHttp(port);
          }
          Window w = window.get(); // before the request is sent, so it was routed by the config current now
          RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          if (r.status() != 200 || r.header("x-upstream") == null) {
            failures.incrementAndGet();
            firstFailure.compareAndSet(null, "status " + r.status() + " (x-upstream " + r.header("x-upstream") + "): "
                + r.body());
          } else {
            w.record(r.header("x-upstream"));
          }
        } catch (Exception e) {
          failures.incrementAndGet();
          firstFailure.compareAndSet(null, e.toString());
          http = null;
        }
      }
    });
  }

  private static void apply(PolicyStore store, String yaml) throws Exception {
    store.apply(PolicyParser.parse("virtual-service.yaml", yaml).policies(), false);
  }

  /** Waits until the proxy runs the control plane's current routes and clusters. */
  private static void awaitApplied(XdsServer xds, XdsClient client) {
    MeshResources want = xds.current();
    await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
        && client.lastSnapshot().version().contains("RDS=" + want.routesVersion())
        && client.lastSnapshot().version().contains("CDS=" + want.clustersVersion()));
  }

  /**
   * The share of the next 1,000 requests that reach {@code name}: exactly the first 1,000 answered requests
   * sent after this call began (so all routed by the config applied before it), counted once they are all in.
   */
  private double share(String name) throws InterruptedException {
    Window w = new Window(1000);
    window.set(w);
    await().failFast("a request failed", () -> assertThat(firstFailure.get()).isNull()).atMost(Duration.ofSeconds(15))
        .until(() -> w.filled.getCount() == 0);
    w.filled.await(); // already zero: orders every slot's write before the reads below
    return Arrays.stream(w.upstreams).filter(name::equals).count() / (double) w.upstreams.length;
  }

  /**
   * A fixed number of slots, each taken by one answered request: a request recorded after all are taken is
   * not counted, so numerator and denominator are read over the same, finished set.
   */
  private static final class Window {
    final String[] upstreams;
    final AtomicInteger taken = new AtomicInteger();
    final CountDownLatch filled;

    Window(int size) {
      upstreams = new String[size];
      filled = new CountDownLatch(size);
    }

    void record(String upstream) {
      int slot = taken.getAndIncrement();
      if (slot < upstreams.length) {
        upstreams[slot] = upstream;
        filled.countDown();
      }
    }
  }
}
