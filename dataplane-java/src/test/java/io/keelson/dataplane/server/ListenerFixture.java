package io.keelson.dataplane.server;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The listener run-time tests' fixture: two upstreams (v1, v2) and a proxy whose first listener routes to
 * v1, plus the pieces those tests build updates from. Closes all three, the proxy first.
 */
final class ListenerFixture implements AutoCloseable {
  /** A request head in two parts: a test sends the first, changes the config, then sends the rest. */
  static final String HEAD_START = "GET /first HTTP/1.1\r\n";
  static final String HEAD_END = "Host: x\r\n\r\n";

  final TestUpstream v1;
  final TestUpstream v2;
  final ProxyHarness proxy;
  final ProxySnapshot base;
  /** The base snapshot's first listener (routes to v1), and the same listener routing to v2. */
  final ListenerConfig toV1;
  final ListenerConfig toV2;

  ListenerFixture() throws Exception {
    this(Duration.ofSeconds(3));
  }

  /** @param drainTime the proxy's drain time (how long a removed listener's connections may stay open) */
  ListenerFixture(Duration drainTime) throws Exception {
    v1 = new TestUpstream("v1");
    TestUpstream second = null;
    try {
      second = new TestUpstream("v2");
      proxy = new ProxyHarness(yaml("v1", v1, second), PipelineMode.INLINE, null, drainTime);
      toV2 = BootstrapLoader.fromYaml(yaml("v2", v1, second), "v2.yaml").listeners().getFirst();
    } catch (Exception e) {
      try (v1; TestUpstream unused = second) {
        throw e; // the upstreams started so far are closed
      }
    }
    v2 = second;
    base = proxy.server.snapshot().config();
    toV1 = base.listeners().getFirst();
  }

  private static String yaml(String to, TestUpstream v1, TestUpstream v2) {
    return bootstrap(allTo(to), cluster("v1", "ROUND_ROBIN", v1.port()) + cluster("v2", "ROUND_ROBIN", v2.port()));
  }

  /** The base snapshot's first listener plus {@code extra}, as {@code version}. */
  ProxySnapshot with(String version, ListenerConfig... extra) {
    List<ListenerConfig> ls = new ArrayList<>();
    ls.add(toV1);
    ls.addAll(List.of(extra));
    return new ProxySnapshot(version, ls, base.clusters(), base.configDump(), base.warnings());
  }

  /** A snapshot with exactly {@code listeners} (the base snapshot's clusters), as {@code version}. */
  ProxySnapshot only(String version, ListenerConfig... listeners) {
    return new ProxySnapshot(version, List.of(listeners), base.clusters(), base.configDump(), base.warnings());
  }

  /**
   * The first listener routing to cluster {@code to}, translated anew from its bootstrap, as a control plane's
   * re-push of the same listener is: for "v1", the same listener as {@link #toV1}, but not an equal object.
   */
  ListenerConfig translated(String to) throws Exception {
    return BootstrapLoader.fromYaml(yaml(to, v1, v2), to + ".yaml").listeners().getFirst();
  }

  /** A listener called {@code name} at {@code host:port} with {@code like}'s HTTP settings (and so its routes). */
  static ListenerConfig named(String name, ListenerConfig like, String host, int port) {
    return new ListenerConfig(name, host, port, like.http(), null, null, List.of(), false, List.of());
  }

  /**
   * Opens a connection to {@code listener} at {@code port} and sends {@link #HEAD_START}; returns once the
   * proxy has accepted the connection.
   */
  RawHttp openAccepted(String listener, int port) throws IOException {
    return openAccepted(listener, port, HEAD_START);
  }

  /**
   * Opens a connection to {@code listener} at {@code port} and sends {@code first}; returns once the proxy has
   * accepted the connection. With nothing to send ({@code first} empty), once the proxy has set it up: a
   * cleartext connection is counted in its listener's stats only once its first bytes chose the protocol.
   */
  RawHttp openAccepted(String listener, int port, String first) throws IOException {
    var stats = proxy.server.snapshot().listener(listener).stats();
    long before = stats.cxTotal.sum();
    int connections = proxy.server.activeConnections();
    RawHttp c = new RawHttp(port);
    if (first.isEmpty()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server.activeConnections() > connections);
      return c;
    }
    c.send(first);
    await().atMost(Duration.ofSeconds(10)).until(() -> stats.cxTotal.sum() > before);
    return c;
  }

  @Override
  public void close() throws Exception {
    try (v1; v2; proxy) {
      // closes all three, the proxy first
    }
  }
}
