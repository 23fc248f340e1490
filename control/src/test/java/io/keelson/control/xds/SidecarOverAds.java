package io.keelson.control.xds;

import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;

/**
 * One outbound sidecar, a real proxy, programmed over ADS by a real {@link XdsServer} from a {@link PolicyStore}:
 * what the end-to-end translation tests share. {@link #apply} hands the store a mesh.yaml and returns once the proxy
 * runs what it translates to; {@link #awaitServing} once a request through it is answered 200.
 */
final class SidecarOverAds implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(20);

  final PolicyStore store = new PolicyStore();
  final ProxyHarness proxy;
  private final XdsServer xds;
  private final XdsClient client;

  SidecarOverAds(String nodeId) throws Exception {
    proxy = new ProxyHarness(OutboundBootstrap.BOOTSTRAP, PipelineMode.INLINE);
    XdsServer server = null;
    try {
      server = new XdsServer(store, port()).start("127.0.0.1", 0);
      client = XdsClient.startInstalling(
          XdsClientConfig.of("127.0.0.1", server.port(), false, Node.newBuilder().setId(nodeId).build()),
          proxy.server::install);
      xds = server;
    } catch (Exception | Error e) {
      if (server != null) {
        server.close();
      }
      proxy.close();
      throw e;
    }
  }

  /** The outbound listener's port. */
  int port() {
    return proxy.server.listenerAddress("outbound").getPort();
  }

  /** Applies {@code yaml} and waits until the proxy's snapshot has the routes and listeners it translates to. */
  MeshResources apply(String yaml) throws Exception {
    store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
    MeshResources want = xds.current();
    await().atMost(WAIT).until(() -> client.lastSnapshot() != null
        && client.lastSnapshot().version().contains("RDS=" + want.routesVersion())
        && client.lastSnapshot().version().contains("LDS=" + want.listenersVersion()));
    return want;
  }

  /** Waits until {@code GET path} to {@code host} is answered 200 (the new routes serve on every event loop). */
  void awaitServing(String host, String path) {
    await().atMost(WAIT).ignoreExceptions().until(() -> {
      try (RawHttp http = new RawHttp(port())) {
        return http.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read().status() == 200;
      }
    });
  }

  @Override
  public void close() throws Exception {
    try (proxy; xds; client) {
      // closed in reverse: the client, the server, then the proxy
    }
  }
}
