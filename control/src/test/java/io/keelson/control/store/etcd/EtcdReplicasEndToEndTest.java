package io.keelson.control.store.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.Mesh;
import io.keelson.control.xds.NodeRegistration;
import io.keelson.control.xds.OutboundBootstrap;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several control-plane replicas sharing one real etcd (started per test on free loopback ports), with real
 * proxies over ADS and real upstreams: policies applied at one replica reach the proxies of another, sidecar
 * registrations are shared under a lease, conflicts are refused or retried, bad hand-written keys are ignored,
 * and an etcd outage costs neither config nor traffic.
 */
class EtcdReplicasEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final String SERVICE = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: product-service }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  @org.junit.jupiter.api.io.TempDir
  Path caDir;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private EtcdProcess etcd;

  @BeforeEach
  void startEtcd() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null,
        "the etcd binary is not on PATH (apt-get install etcd-server etcd-client)");
    etcd = new EtcdProcess();
    cleanup.push(etcd);
  }

  @AfterEach
  void stopAll() throws Exception {
    Exception first = null;
    while (!cleanup.isEmpty()) {
      try {
        cleanup.pop().close();
      } catch (Exception e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Test
  void anApplyAtOneReplicaIsServedByTheOthersApiAndProxies() throws Exception {
    // A's first endpoint is down: it uses the next one.
    ControlPlane a = replica(15001, null, java.util.List.of(URI.create("http://127.0.0.1:1"), etcd.endpoint()));
    Proxy proxyOnB = proxyOn(replicaForProxy());
    TestUpstream v1 = closing(new TestUpstream("v1"));
    assertThat(proxyOnB.status("product-service")).isNotEqualTo(200);

    apply(a, Mesh.registry(v1.port(), v1.port()));

    await().atMost(WAIT).until(() -> proxyOnB.cp.store.current().get("Workload", "product-v1") != null);
    assertThat(get(proxyOnB.cp, "/v1/resources/Workload")).contains("product-v1", "product-v2");
    await().atMost(WAIT).ignoreExceptions().until(() -> "v1".equals(proxyOnB.upstream("product-service")));
  }

  @Test
  void aTelemetryAppliedAtOneReplicaIsStoredNamespacedForTheOther() throws Exception {
    ControlPlane a = replica(15001);
    ControlPlane b = replica(15001);
    apply(a, """
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: quiet, namespace: shop }
        spec:
          selector: { matchLabels: { app: web } }
          accessLogging: [ { disabled: true, match: { mode: CLIENT } } ]
        """);
    await().atMost(WAIT).until(() -> !b.store.current().ofType(io.keelson.control.policy.Policy.Telemetry.class).isEmpty());
    var t = b.store.current().ofType(io.keelson.control.policy.Policy.Telemetry.class).getFirst();
    assertThat(t.meta().key()).isEqualTo("Telemetry/shop/quiet");
    assertThat(t.accessLogging()).containsExactly(new io.keelson.control.policy.Policy.AccessLogging(java.util.List.of(),
        true, io.keelson.control.policy.Policy.TelemetryMode.CLIENT));
    assertThat(get(b, "/v1/resources/Telemetry")).contains("quiet", "namespace: shop");
  }

  @Test
  void aSidecarRegisteredAtOneReplicaIsAnEndpointAtAnotherUntilItsLeaseExpires() throws Exception {
    ControlPlane a = replica(15001);
    ControlPlane b = replicaForProxy();
    Proxy proxyOnB = proxyOn(b);
    TestUpstream app = closing(new TestUpstream("registered-at-a"));
    apply(a, SERVICE);
    await().atMost(WAIT).until(() -> b.store.current().get("Service", "product-service") != null);

    XdsClient sidecarAtA = register(a, "product-a-1", app.port());
    await().atMost(WAIT).until(() -> b.xds.peerWorkloads().containsKey("product-a-1"));
    await().atMost(WAIT).ignoreExceptions().until(() -> "registered-at-a".equals(proxyOnB.upstream("product-service")));

    // A dies: it neither deletes its registrations nor revokes its lease.
    a.etcd.abandon();
    long died = System.nanoTime();
    assertThat(b.xds.peerWorkloads()).as("right after A died, until its lease expires").containsKey("product-a-1");
    cleanup.remove(sidecarAtA);
    cleanup.remove(a);
    sidecarAtA.close();
    a.close();
    await().atMost(WAIT).until(() -> !b.xds.peerWorkloads().containsKey("product-a-1"));
    assertThat(Duration.ofNanos(System.nanoTime() - died)).as("gone only once the lease expired")
        .isGreaterThan(Duration.ofMillis(1000));
    await().atMost(WAIT).until(() -> proxyOnB.status("product-service") != 200);

    // The sidecar reconnects to B and registers there.
    register(b, "product-a-1", app.port());
    await().atMost(WAIT).ignoreExceptions().until(() -> "registered-at-a".equals(proxyOnB.upstream("product-service")));
  }

  /**
   * A registration another replica wrote is checked as it is read: one recording a namespace whose service key is not
   * of it (a sidecar of shop in default's product-service), or one written without a namespace by an older replica
   * (which let sidecars of other namespaces fall back to default's Service), is dropped; its own namespace's is kept.
   */
  @Test
  void registrationsOfAnotherNamespacesServiceOrWithoutANamespaceAreDroppedAtLoad() throws Exception {
    ControlPlane b = replica(15001);
    apply(b, SERVICE);
    EtcdClient hand = new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2));
    String replica = options().prefix() + "workloads/old-replica/";
    String record = "{\"nodeId\":\"%s\",\"name\":\"sidecar.%1$s\",\"service\":\"%s\",\"address\":\"127.0.0.1\","
        + "\"port\":%d,\"labels\":{}%s}";
    hand.put(replica + "legacy", record.formatted("legacy", "product-service", 9001, ""), 0);
    hand.put(replica + "intruder", record.formatted("intruder", "product-service", 9002, ",\"namespace\":\"shop\""), 0);
    hand.put(replica + "own", record.formatted("own", "product-service", 9003, ",\"namespace\":\"default\""), 0);
    hand.put(replica + "shop-own", record.formatted("shop-own", "product-service.shop", 9004,
        ",\"namespace\":\"shop\""), 0);
    // Written in this order, watched in revision order: once shop-own (the last) is in, the others were read.
    await().atMost(WAIT).untilAsserted(() -> assertThat(b.xds.peerWorkloads()).containsOnlyKeys("own", "shop-own"));
    assertThat(b.xds.peerWorkloads().get("shop-own").service()).isEqualTo("product-service.shop");
  }

  @Test
  void aReplicaWhoseLeaseWasLostRegistersItsWorkloadsAgain() throws Exception {
    ControlPlane a = replica(15001);
    ControlPlane b = replica(15001);
    register(a, "product-a-2", 8080);
    await().atMost(WAIT).until(() -> b.xds.peerWorkloads().containsKey("product-a-2"));

    // The lease is gone (as after an etcd outage longer than its TTL): A notices at its next keep-alive.
    String lease = registrationLease();
    rawPost("/v3/lease/revoke", "{\"ID\":\"" + lease + "\"}");
    // (B may see the key go and come back between two polls: the new lease is what shows A wrote it again.)
    await().atMost(WAIT).until(() -> {
      String now = registrationLease();
      return now != null && !now.equals(lease);
    });
    await().atMost(WAIT).until(() -> b.xds.peerWorkloads().containsKey("product-a-2"));
  }

  /** The lease of the one registration key, or null when there is none. */
  private String registrationLease() throws Exception {
    String key = "/test/workloads/";
    var kvs = EtcdClient.parse(rawPost("/v3/kv/range", "{\"key\":\"" + b64(key) + "\",\"range_end\":\""
        + EtcdClient.b64End(key) + "\"}"));
    if (!kvs.containsFields("kvs")) {
      return null;
    }
    return kvs.getFieldsOrThrow("kvs").getListValue().getValues(0).getStructValue().getFieldsOrThrow("lease")
        .getStringValue();
  }

  private String rawPost(String path, String body) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(HttpRequest.newBuilder(etcd.endpoint().resolve(path)).POST(HttpRequest.BodyPublishers
          .ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  private static String b64(String s) {
    return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void aChangeValidatedAgainstAStaleStateIsRetriedOrRefusedNeverHalfApplied() throws Exception {
    ControlPlane a = replica(15001);
    apply(a, SERVICE);
    // A replica whose watch has not seen A's next changes yet: it validates against a stale state.
    EtcdStore stale = EtcdStore.connect(options());
    closing(stale);
    assertThat(stale.store.current().get("Service", "product-service")).isNotNull();

    a.store.delete("Service", "product-service", false);
    String route = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product-route }
        spec:
          hosts: [product-service]
          http:
          - route: [ { destination: { host: product-service } } ]
        """;
    assertThatThrownBy(() -> stale.store.apply(PolicyParser.parse("route.yaml", route).policies(), false))
        .isInstanceOf(PolicyException.class).hasMessageContaining("product-service");
    assertThat(etcdKeys()).as("nothing of the refused change was written").doesNotContain("product-route");

    // A non-conflicting change from a stale replica is validated again and keeps the other replica's change.
    EtcdStore stale2 = closing(EtcdStore.connect(options()));
    apply(a, SERVICE.replace("product-service", "other-service"));
    stale2.store.apply(PolicyParser.parse("s.yaml", SERVICE.replace("product-service", "third-service")).policies(),
        false);
    assertThat(stale2.store.current().byKey()).containsKeys("Service/other-service", "Service/third-service");
    await().atMost(WAIT).until(() -> a.store.current().byKey().containsKey("Service/third-service"));
    assertThat(a.store.current().byKey()).containsKey("Service/other-service");

    // Two replicas applying at once lose nothing: each apply is retried, or refused saying so and applied again.
    ControlPlane b = replica(15001);
    java.util.concurrent.atomic.AtomicInteger refusals = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<Exception> unexpected = new java.util.concurrent.atomic.AtomicReference<>();
    Thread[] writers = new Thread[2];
    ControlPlane[] at = {a, b};
    for (int w = 0; w < 2; w++) {
      int writer = w;
      writers[w] = Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 10; i++) {
          try {
            apply(at[writer], SERVICE.replace("product-service", "s-" + writer + "-" + i));
          } catch (PolicyException e) {
            if (!e.getMessage().contains("changed after revision") || !e.getMessage().contains("nothing was applied")) {
              unexpected.compareAndSet(null, e);
            }
            refusals.incrementAndGet();
            i--;
          } catch (Exception e) {
            unexpected.compareAndSet(null, e);
            return;
          }
        }
      });
    }
    for (Thread t : writers) {
      t.join(30_000);
    }
    assertThat(unexpected.get()).isNull();
    assertThat(refusals.get()).as("applies refused after every retry").isLessThan(20);
    await().atMost(WAIT).until(() -> a.store.current().ofType(io.keelson.control.policy.Policy.Service.class).size()
        == 22 && b.store.current().byKey().equals(a.store.current().byKey()));
  }

  @Test
  void aNamespacedDocumentStoredUnderItsKeyFromBeforeNamespacesLoadsReKeyedAndMovesWithTheNextChange()
      throws Exception {
    ControlPlane a = replica(15001);
    ControlPlane b = replica(15001);
    EtcdClient hand = new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2));
    String prefix = options().prefix();
    hand.put(prefix + "policies/Service/reviews", "apiVersion: keelson.io/v1alpha1\nkind: Service\n"
        + "metadata: { name: reviews, namespace: shop }\nspec: { ports: [ { port: 9080 } ] }\n", 0);
    await().atMost(WAIT).until(() -> a.store.current().byKey().containsKey("Service/shop/reviews")
        && b.store.current().byKey().containsKey("Service/shop/reviews"));
    assertThat(a.etcd.lastError()).isNull();

    apply(a, SERVICE.replace("product-service", "other-service"));
    await().atMost(WAIT).until(() -> etcdKeys().contains("/policies/Service/shop/reviews"));
    assertThat(etcdKeys()).doesNotContain("/policies/Service/reviews,", "/policies/Service/reviews]");
    await().atMost(WAIT).until(() -> b.store.current().byKey().containsKey("Service/other-service"));
    assertThat(b.store.current().byKey()).containsKey("Service/shop/reviews");

    b.store.delete("Service", "shop", "reviews", false);
    await().atMost(WAIT).until(() -> !a.store.current().byKey().containsKey("Service/shop/reviews"));
    assertThat(etcdKeys()).doesNotContain("reviews");
  }

  @Test
  void aHandWrittenInvalidDocumentIsReportedAndTheLastGoodStateKept() throws Exception {
    ControlPlane a = replica(15001);
    Proxy proxyOnB = proxyOn(replicaForProxy());
    TestUpstream v1 = closing(new TestUpstream("v1"));
    apply(a, Mesh.registry(v1.port(), v1.port()));
    await().atMost(WAIT).ignoreExceptions().until(() -> "v1".equals(proxyOnB.upstream("product-service")));
    var good = proxyOnB.cp.store.current().byKey();

    EtcdClient hand = new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2));
    String prefix = options().prefix();
    hand.put(prefix + "policies/Workload/product-v1", "apiVersion: keelson.io/v1alpha1\nkind: Workload\n"
        + "metadata: { name: product-v1 }\nspec: { service: product-service, port: 99999 }\n", 0);
    hand.put(prefix + "policies/HTTPRoute/junk", "not: [yaml", 0);

    await().atMost(WAIT).until(() -> proxyOnB.cp.etcd.lastError() != null
        && proxyOnB.cp.etcd.lastError().contains(prefix + "policies/HTTPRoute/junk")
        && proxyOnB.cp.etcd.lastError().contains(prefix + "policies/Workload/product-v1"));
    assertThat(proxyOnB.cp.store.current().byKey()).isEqualTo(good);
    assertThat(proxyOnB.upstream("product-service")).isEqualTo("v1");

    // The mesh still takes changes.
    apply(a, SERVICE.replace("product-service", "other-service"));
    await().atMost(WAIT).until(() -> proxyOnB.cp.store.current().byKey().containsKey("Service/other-service"));
    assertThat(proxyOnB.cp.store.current().get("Workload", "product-v1")).isEqualTo(good.get("Workload/product-v1"));

    // A referenced document deleted by hand is kept (and reported) rather than leaving dangling references.
    hand.delete(prefix + "policies/Service/product-service");
    await().atMost(WAIT).until(() -> proxyOnB.cp.etcd.lastError().contains("[Service/product-service]"));
    assertThat(proxyOnB.cp.store.current().get("Service", "product-service")).isNotNull();
    assertThat(proxyOnB.upstream("product-service")).isEqualTo("v1");
    apply(a, SERVICE.replace("product-service", "third-service"));
    await().atMost(WAIT).until(() -> proxyOnB.cp.store.current().byKey().containsKey("Service/third-service"));
  }

  @Test
  void withEtcdDownReplicasKeepServingAndAppliesFailThenChangesFlowAgain(@TempDir Path configDir) throws Exception {
    ControlPlane a = replica(15001, configDir);
    Proxy proxyOnB = proxyOn(replicaForProxy());
    TestUpstream v1 = closing(new TestUpstream("v1"));
    TestUpstream v2 = closing(new TestUpstream("v2"));
    apply(a, Mesh.registry(v1.port(), v1.port()));
    await().atMost(WAIT).ignoreExceptions().until(() -> "v1".equals(proxyOnB.upstream("product-service")));

    etcd.stop();
    assertThatThrownBy(() -> apply(a, Mesh.registry(v2.port(), v2.port())))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("etcd unavailable").hasMessageContaining(etcd.endpoint().toString())
        .hasMessageContaining("nothing was applied");
    Thread.sleep(500); // let the watches notice and back off
    assertThat(proxyOnB.upstream("product-service")).as("served from the last state").isEqualTo("v1");
    assertThat(proxyOnB.cp.store.current().get("Workload", "product-v1")).isNotNull();

    // A change to A's config dir while etcd is down is applied once etcd is back.
    Files.writeString(configDir.resolve("other.yaml"), SERVICE.replace("product-service", "other-service"));
    await().atMost(WAIT).until(() -> a.configDirError() != null && a.configDirError().contains("etcd unavailable"));
    // Through the HTTP API: 503, the documents were fine.
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.api.port()
          + "/v1/apply")).POST(HttpRequest.BodyPublishers.ofString(SERVICE.replace("product-service", "x"))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).contains("etcd unavailable");
    }

    etcd.start();
    await().atMost(WAIT).until(() -> proxyOnB.cp.store.current().byKey().containsKey("Service/other-service"));
    await().atMost(WAIT).ignoreExceptions().until(() -> {
      apply(a, Mesh.registry(v2.port(), v2.port()));
      return true;
    });
    await().atMost(WAIT).ignoreExceptions().until(() -> "v2".equals(proxyOnB.upstream("product-service")));
  }

  @Test
  void startUpFailsNamingTheEndpointsWhenEtcdDoesNotAnswer() throws Exception {
    etcd.stop();
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> EtcdStore.connect(options().withStartTimeout(Duration.ofSeconds(1))))
        .isInstanceOf(EtcdException.class).hasMessageContaining(etcd.endpoint().toString())
        .hasMessageContaining("did not answer within 1s");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
  }

  // ---- fixtures

  private EtcdStore.Options options() {
    return EtcdStore.Options.of(etcd.endpoints()).withPrefix("/test/").withLeaseTtl(Duration.ofSeconds(2));
  }

  private ControlPlane replica(int outboundPort) throws Exception {
    return replica(outboundPort, null);
  }

  private ControlPlane replica(int outboundPort, Path configDir) throws Exception {
    return replica(outboundPort, configDir, etcd.endpoints());
  }

  private ControlPlane replica(int outboundPort, Path configDir, java.util.List<URI> endpoints) throws Exception {
    // Replicas on one prefix must share the mesh CA (EtcdCaRecord): each loads the same self-signed root.
    ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, configDir, null, outboundPort,
        io.keelson.control.ca.CaOptions.selfSigned(caDir), -1)
        .withEtcd(new EtcdStore.Options(endpoints, "/test/", Duration.ofSeconds(2), Duration.ofSeconds(5),
            EtcdStore.Options.defaultReplicaId())));
    cleanup.push(cp);
    return cp;
  }

  private ProxyHarness pendingProxy;

  /** A replica whose outbound port is the one a fresh proxy bound (proxies keep the listener port LDS sends). */
  private ControlPlane replicaForProxy() throws Exception {
    pendingProxy = closing(new ProxyHarness(OutboundBootstrap.BOOTSTRAP, PipelineMode.INLINE));
    return replica(pendingProxy.server.listenerAddress("outbound").getPort());
  }

  private Proxy proxyOn(ControlPlane cp) throws Exception {
    ProxyHarness proxy = pendingProxy;
    XdsClient client = closing(XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false,
            Node.newBuilder().setId("proxy-" + cp.xds.port()).build())
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), proxy.server::update));
    return new Proxy(cp, proxy, client);
  }

  private XdsClient register(ControlPlane cp, String nodeId, int port) throws Exception {
    Node node = Node.newBuilder().setId(nodeId).setMetadata(Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, Value.newBuilder().setStringValue("product-service").build())
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(port).build())).build();
    XdsClient c = closing(XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), snapshot -> {}));
    await().atMost(WAIT).until(() -> cp.xds.registeredWorkloads().containsKey(nodeId));
    return c;
  }

  private <T extends AutoCloseable> T closing(T t) {
    cleanup.push(t);
    return t;
  }

  private static void apply(ControlPlane cp, String yaml) throws Exception {
    cp.store.apply(PolicyParser.parse("mesh.yaml", yaml).policies(), false);
  }

  private static String get(ControlPlane cp, String path) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.api.port() + path)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  private String etcdKeys() throws Exception {
    return new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2)).range("/test/").kvs().keySet().toString();
  }

  /** A proxy programmed by one replica. */
  private record Proxy(ControlPlane cp, ProxyHarness proxy, XdsClient client) {
    int port() {
      return proxy.server.listenerAddress("outbound").getPort();
    }

    int status(String host) throws Exception {
      try (RawHttp http = new RawHttp(port())) {
        return http.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read().status();
      }
    }

    /** The upstream that answered GET / for {@code host}, or null when it was not a 200. */
    String upstream(String host) throws Exception {
      try (RawHttp http = new RawHttp(port())) {
        RawHttp.Response r = http.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
        return r.status() == 200 ? r.header("x-upstream") : null;
      }
    }
  }
}
