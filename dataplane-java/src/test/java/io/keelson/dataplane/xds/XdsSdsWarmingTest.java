package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.address;
import static io.keelson.dataplane.xds.MeshResources.caSecret;
import static io.keelson.dataplane.xds.MeshResources.certSecret;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.tlsListener;
import static io.keelson.dataplane.xds.MeshResources.verifyingCluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.ssl.SslContextBuilder;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Envoy's warming on SDS secrets against a real xDS server that holds a secret back, with real sockets and TLS: a
 * cluster or listener naming a secret that has not arrived is not put into service (a new cluster's requests get 503
 * {@code cluster not found}, an updated one's the previous version; a new listener is not bound, an updated one keeps
 * its certificate) until the secret arrives or, for a cluster, its ConfigSource's {@code initial_fetch_timeout} passes.
 */
class XdsSdsWarmingTest {
  private static final String REQUEST = "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  private static final String CA_A = "kubernetes://ca-a";
  private static final String CA_B = "kubernetes://ca-b";

  @Test
  void anUpdatedTlsClusterServesItsPreviousVersionUntilItsNewCaArrives() throws Exception {
    TestCa caA = new TestCa("warm-ca-a");
    TestCa caB = new TestCa("warm-ca-b");
    try (TestUpstream upstreamA = tlsUpstream("tls-a", caA);
        TestUpstream upstreamB = tlsUpstream("tls-b", caB);
        Mesh mesh = new Mesh()) {
      mesh.push("1", verifyingCluster("tls", CA_A, null), upstreamA, caSecret(CA_A, caA));
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.status() == 200);

      mesh.push("2", verifyingCluster("tls", CA_B, null), upstreamA, caSecret(CA_A, caA)); // ca-b held back
      mesh.awaitVersion("CDS=2");
      for (int i = 0; i < 5; i++) {
        assertThat(mesh.status()).as("the previous version (trusting ca-a) keeps serving").isEqualTo(200);
      }
      assertThat(mesh.stat("cluster_manager.warming_clusters")).isEqualTo(1);

      // ca-b arrives with an endpoint only ca-b verifies: the previous version could not reach it.
      mesh.push("3", verifyingCluster("tls", CA_B, null), upstreamB, caSecret(CA_A, caA), caSecret(CA_B, caB));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(mesh.request().header("x-upstream"))
          .as("served by the version that trusts ca-b; %s", mesh.xdsState()).isEqualTo("tls-b"));
      mesh.awaitNoneWarming("cluster_manager.warming_clusters");
    }
  }

  /**
   * A new cluster waiting for its CA: its requests find no cluster, and the admin pages show it warming, as Envoy's
   * ClustersConfigDump.dynamic_warming_clusters and its /clusters (which lists warming clusters too).
   */
  @Test
  void aNewTlsClustersRequestsFindNoClusterUntilItsSecretArrives() throws Exception {
    TestCa ca = new TestCa("warm-ca-new");
    try (TestUpstream tls = tlsUpstream(ca);
        Mesh mesh = new Mesh()) {
      mesh.push("1", verifyingCluster("tls", CA_A, null), tls);
      mesh.awaitVersion("RDS=1");
      RawHttp.Response warming = mesh.request();
      assertThat(warming.status()).isEqualTo(503);
      assertThat(warming.body()).as("not a TLS failure: no cluster yet (NC)").contains("cluster not found");
      assertThat(tls.connections.get()).isZero();
      assertThat(mesh.proxy.admin("/config_dump"))
          .contains("\"dynamic_warming_clusters\":[{\"version_info\":\"1\",\"cluster\":{\"name\":\"tls\"")
          .contains("\"dynamic_warming_listeners\":[]");
      assertThat(mesh.proxy.admin("/clusters")).contains("tls::warming::true\n", "tls::added_via_api::true\n");

      mesh.push("2", verifyingCluster("tls", CA_A, null), tls, caSecret(CA_A, ca));
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.status() == 200);
      await("in service: no longer warming").atMost(Duration.ofSeconds(10))
          .until(() -> mesh.proxy.admin("/config_dump").contains("\"dynamic_warming_clusters\":[]"));
      assertThat(mesh.proxy.admin("/config_dump")).contains("\"clusters\":[{\"name\":\"tls\"");
      assertThat(mesh.proxy.admin("/clusters")).doesNotContain("tls::warming").contains("tls::upstream_rq_total::");
    }
  }

  @Test
  void aNewTlsClusterGoesIntoServiceWhenItsInitialFetchTimeoutPasses() throws Exception {
    TestCa ca = new TestCa("warm-ca-timeout");
    try (TestUpstream tls = tlsUpstream(ca);
        Mesh mesh = new Mesh()) {
      long start = System.nanoTime();
      mesh.push("1", verifyingCluster("tls", CA_A, Duration.ofSeconds(1)), tls);
      mesh.awaitVersion("RDS=1");
      await().atMost(Duration.ofSeconds(10)).until(() -> !mesh.request().body().contains("cluster not found"));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not before initial_fetch_timeout")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
      assertThat(mesh.status()).as("in service without its CA: its handshakes fail closed").isEqualTo(503);

      mesh.push("2", verifyingCluster("tls", CA_A, Duration.ofSeconds(1)), tls, caSecret(CA_A, ca));
      await("the late secret reaches the running cluster").atMost(Duration.ofSeconds(10))
          .until(() -> mesh.status() == 200);
    }
  }

  @Test
  void aTlsListenerIsBoundOnlyOnceItsCertificateArrivesAndAnUpdateKeepsTheOldOneUntilItsOwnArrives() throws Exception {
    TestCa ca = new TestCa("warm-listener-ca");
    TestCa.Leaf a = ca.issue("a.example.test", "a.example.test");
    TestCa.Leaf b = ca.issue("b.example.test", "b.example.test");
    try (TestUpstream plain = new TestUpstream("plain");
        Mesh mesh = new Mesh()) {
      Listener secure = tlsListener("secure", 0, "kubernetes://a");
      mesh.pushListeners("1", plain, List.of(secure));
      mesh.awaitVersion("LDS=1");
      assertThat(mesh.proxy.server.boundListeners()).as("warming: not bound").doesNotContainKey("secure");
      assertThat(mesh.stat("listener_manager.total_listeners_warming")).isEqualTo(1);
      assertThat(mesh.proxy.admin("/config_dump")).as("Envoy's ListenersConfigDump.DynamicListener shape")
          .contains("\"dynamic_warming_listeners\":[{\"name\":\"secure\",\"warming_state\":{\"version_info\":\"1\","
              + "\"listener\":{\"name\":\"secure\"");

      mesh.pushListeners("2", plain, List.of(secure), certSecret("kubernetes://a", a.certPem(), a.keyPem()));
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.proxy.server.boundListeners().containsKey("secure"));
      // the client notes what still warms right after the install the listener's binding came from
      await("in service: no longer warming").atMost(Duration.ofSeconds(10))
          .until(() -> mesh.proxy.admin("/config_dump").contains("\"dynamic_warming_listeners\":[]"));
      int port = mesh.proxy.server.boundListeners().get("secure").getPort();
      assertThat(served(ca, port)).isEqualTo(a.cert());

      Listener updated = tlsListener("secure", port, "kubernetes://b").toBuilder()
          .setAddress(address("127.0.0.1", port)).build();
      mesh.pushListeners("3", plain, List.of(updated), certSecret("kubernetes://a", a.certPem(), a.keyPem()));
      mesh.awaitVersion("LDS=3");
      assertThat(served(ca, port)).as("the old listener keeps serving its certificate").isEqualTo(a.cert());

      mesh.pushListeners("4", plain, List.of(updated), certSecret("kubernetes://a", a.certPem(), a.keyPem()),
          certSecret("kubernetes://b", b.certPem(), b.keyPem()));
      await().atMost(Duration.ofSeconds(10)).until(() -> b.cert().equals(served(ca, port)));
      mesh.awaitNoneWarming("listener_manager.total_listeners_warming");
    }
  }

  /**
   * A first SDS request naming two secrets, one pushed and one not (a gateway's two credentialName servers): no answer
   * (over ADS, Envoy waits for every name), and the request stays open until a push has both (SimpleCache answered it
   * at once, the answer was refused for the missing name, and no watch was opened: both listeners warmed for ever).
   */
  @Test
  void aFirstRequestForAPushedAndAMissingSecretIsAnsweredOnceBothArePushed() throws Exception {
    TestCa ca = new TestCa("warm-two-ca");
    TestCa.Leaf a = ca.issue("a.example.test", "a.example.test");
    TestCa.Leaf b = ca.issue("b.example.test", "b.example.test");
    try (TestUpstream plain = new TestUpstream("plain");
        Mesh mesh = new Mesh()) {
      List<Listener> two = List.of(tlsListener("secure-a", 0, "kubernetes://a"), tlsListener("secure-b", 0,
          "kubernetes://b"));
      mesh.pushListeners("1", plain, two, certSecret("kubernetes://a", a.certPem(), a.keyPem()));
      mesh.awaitVersion("LDS=1");
      assertThat(mesh.proxy.server.boundListeners()).doesNotContainKeys("secure-a", "secure-b");

      mesh.pushListeners("2", plain, two, certSecret("kubernetes://a", a.certPem(), a.keyPem()),
          certSecret("kubernetes://b", b.certPem(), b.keyPem()));
      await("both bound; %s".formatted(mesh.xdsState())).atMost(Duration.ofSeconds(10))
          .until(() -> mesh.proxy.server.boundListeners().keySet().containsAll(List.of("secure-a", "secure-b")));
      assertThat(served(ca, mesh.proxy.server.boundListeners().get("secure-b").getPort())).isEqualTo(b.cert());
    }
  }

  /** As Envoy: listener warming ends at the SDS initial_fetch_timeout; the listener serves, its handshakes failing. */
  @Test
  void aTlsListenerIsBoundWithFailingHandshakesOnceItsInitialFetchTimeoutPasses() throws Exception {
    TestCa ca = new TestCa("warm-listener-timeout");
    TestCa.Leaf late = ca.issue("late.example.test", "late.example.test");
    try (TestUpstream plain = new TestUpstream("plain");
        Mesh mesh = new Mesh()) {
      Listener secure = tlsListener("secure", 0, "kubernetes://late", Duration.ofSeconds(1));
      long start = System.nanoTime();
      mesh.pushListeners("1", plain, List.of(secure));
      mesh.awaitVersion("LDS=1");
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.proxy.server.boundListeners().containsKey("secure"));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not before initial_fetch_timeout")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
      mesh.awaitNoneWarming("listener_manager.total_listeners_warming");
      int port = mesh.proxy.server.boundListeners().get("secure").getPort();
      assertThatThrownBy(() -> served(ca, port)).as("no certificate yet: the handshake fails")
          .isInstanceOf(java.io.IOException.class);

      mesh.pushListeners("2", plain, List.of(secure), certSecret("kubernetes://late", late.certPem(), late.keyPem()));
      await("the late secret reaches the running listener").atMost(Duration.ofSeconds(10))
          .until(() -> late.cert().equals(servedOrNull(ca, port)));
    }
  }

  /** Envoy's init manager: not LIVE before the first configuration, nor while its listeners warm on their secrets. */
  @Test
  void theProxyIsNotLiveUntilItsFirstListenersAreWarm() throws Exception {
    TestCa ca = new TestCa("warm-ready");
    TestCa.Leaf a = ca.issue("a.example.test", "a.example.test");
    try (TestUpstream plain = new TestUpstream("plain");
        Mesh mesh = new Mesh()) {
      assertThat(mesh.proxy.admin("/ready")).as("no configuration yet").isEqualTo("INITIALIZING\n");
      assertThat(mesh.proxy.stat("server.state")).isEqualTo(3);
      assertThat(mesh.proxy.admin("/healthz")).isEqualTo("INITIALIZING\n");
      assertThat(mesh.proxy.admin("/stats/prometheus")).contains("envoy_server_state 3\n", "envoy_server_live 0\n");

      mesh.pushListeners("1", plain, List.of(tlsListener("secure", 0, "kubernetes://a")));
      mesh.awaitVersion("LDS=1");
      assertThat(mesh.proxy.admin("/ready")).as("listener 'secure' warms").isEqualTo("INITIALIZING\n");

      mesh.pushListeners("2", plain, List.of(tlsListener("secure", 0, "kubernetes://a")),
          certSecret("kubernetes://a", a.certPem(), a.keyPem()));
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.proxy.admin("/ready").equals("LIVE\n"));
      assertThat(mesh.proxy.stat("server.state")).isZero();

      mesh.pushListeners("3", plain, List.of(tlsListener("secure", 0, "kubernetes://a"),
          tlsListener("later", 0, "kubernetes://never")), certSecret("kubernetes://a", a.certPem(), a.keyPem()));
      mesh.awaitVersion("LDS=3");
      assertThat(mesh.proxy.admin("/ready")).as("a listener warming after start-up does not take readiness back")
          .isEqualTo("LIVE\n");
    }
  }

  /**
   * A bootstrap with dynamic_resources is not initialized by its static listeners: between start (which binds them)
   * and the xDS client's attachment the proxy was LIVE.
   */
  @Test
  void aProxyAwaitingXdsIsNotLiveBeforeItsClientIsAttached() throws Exception {
    String yaml = bootstrap(allTo("boot"), cluster("boot", "ROUND_ROBIN", TestUpstream.closedPort()));
    try (ProxyHarness awaiting = new ProxyHarness(yaml, PipelineMode.INLINE, o -> o.withAwaitsXds(true));
        ProxyHarness staticOnly = new ProxyHarness(yaml, PipelineMode.INLINE, o -> o)) {
      assertThat(awaiting.server.boundListeners()).containsKey("ingress");
      assertThat(awaiting.admin("/ready")).isEqualTo("INITIALIZING\n");
      assertThat(awaiting.stat("server.state")).isEqualTo(3);
      assertThat(staticOnly.admin("/ready")).isEqualTo("LIVE\n");
    }
  }

  @Test
  void theProxyGoesLiveWhenItsWarmingListenersInitialFetchTimeoutPasses() throws Exception {
    try (TestUpstream plain = new TestUpstream("plain");
        Mesh mesh = new Mesh()) {
      mesh.pushListeners("1", plain, List.of(tlsListener("secure", 0, "kubernetes://late", Duration.ofSeconds(1))));
      mesh.awaitVersion("LDS=1");
      await().atMost(Duration.ofSeconds(10)).until(() -> mesh.proxy.admin("/ready").equals("LIVE\n"));
      assertThat(mesh.proxy.server.boundListeners()).as("warming ended at the timeout: bound").containsKey("secure");
    }
  }

  private static X509Certificate servedOrNull(TestCa ca, int port) {
    try {
      return served(ca, port);
    } catch (Exception e) {
      return null;
    }
  }

  private static TestUpstream tlsUpstream(TestCa ca) throws Exception {
    return tlsUpstream("tls", ca);
  }

  private static TestUpstream tlsUpstream(String name, TestCa ca) throws Exception {
    TestCa.Leaf leaf = ca.issue("partner.example.test", "partner.example.test");
    return new TestUpstream(name, SslContextBuilder.forServer(leaf.key(), leaf.cert()).build());
  }

  /** The certificate a TLS handshake to {@code port} is shown. */
  private static X509Certificate served(TestCa ca, int port) throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5_000);
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  /** A proxy fed by a real xDS server: the ingress listener routes everything to cluster {@code tls}. */
  private static final class Mesh implements AutoCloseable {
    final ProxyHarness proxy;
    final JavaControlPlane controlPlane;
    final XdsClient client;

    Mesh() throws Exception {
      proxy = new ProxyHarness(bootstrap(allTo("boot"), cluster("boot", "ROUND_ROBIN", TestUpstream.closedPort())),
          PipelineMode.INLINE, o -> o.withAwaitsXds(true));
      controlPlane = new JavaControlPlane().start();
      client = XdsClient.startInstalling(XdsClientConfig.of("127.0.0.1", controlPlane.port(), false,
          Node.newBuilder().setId("warming").build()), proxy.server::install);
      proxy.server.attach(client);
    }

    void push(String version, Cluster cluster, TestUpstream upstream, Secret... secrets) {
      controlPlane.set(Snapshot.create(List.of(cluster), List.of(endpoints(cluster.getName(), upstream.port(), 1)),
          List.of(listener(proxy.port())), List.of(route(cluster.getName(), "1")), List.of(secrets), version));
    }

    void pushListeners(String version, TestUpstream upstream, List<Listener> extra, Secret... secrets) {
      List<Listener> listeners = new java.util.ArrayList<>(extra);
      listeners.add(listener(proxy.port()));
      controlPlane.set(Snapshot.create(List.of(edsCluster("plain")),
          List.<ClusterLoadAssignment>of(endpoints("plain", upstream.port(), 1)), listeners,
          List.of(route("plain", "1")), List.of(secrets), version));
    }

    void awaitVersion(String typeAndVersion) {
      await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
          && client.lastSnapshot().version().contains(typeAndVersion));
    }

    RawHttp.Response request() throws Exception {
      try (RawHttp c = new RawHttp(proxy.port())) {
        return c.send(REQUEST).read();
      }
    }

    int status() throws Exception {
      return request().status();
    }

    /**
     * Waits for gauge {@code name} to read 0. The client publishes its warming counts just after the install that ended
     * the warming, on its own thread: a request served by the new version (or a listener found bound) may still read
     * the count from before.
     */
    void awaitNoneWarming(String name) {
      await(name + " back to 0").atMost(Duration.ofSeconds(10)).until(() -> stat(name) == 0);
    }

    /** What the client has accepted and published, for a failure's message: where an update stopped. */
    String xdsState() {
      var snapshot = client.lastSnapshot();
      return "in service: " + (snapshot == null ? "nothing" : snapshot.version()) + ", client: " + client.stats();
    }

    long stat(String name) {
      proxy.server.stats().xds(client::stats);
      String text = proxy.server.stats().toEnvoyText();
      for (String line : text.split("\n")) {
        if (line.startsWith(name + ": ")) {
          return Long.parseLong(line.substring(name.length() + 2).trim());
        }
      }
      throw new AssertionError(name + " not in stats");
    }

    @Override
    public void close() throws Exception {
      client.close();
      controlPlane.close();
      proxy.close();
    }
  }
}
