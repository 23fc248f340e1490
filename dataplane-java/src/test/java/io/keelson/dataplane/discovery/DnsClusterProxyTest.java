package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.udp.HeldLookups;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * STRICT_DNS and LOGICAL_DNS clusters resolved in the background, as Envoy's: the test JVM's resolver
 * ({@link HeldLookups}) answers names the test sets and changes, and real HTTP backends listen on 127.0.0.1 and
 * 127.0.0.2 (both on Linux's {@code lo}) at one port. No lookup ever runs on an event loop: the proxies here have one.
 */
class DnsClusterProxyTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final String name = "svc-" + System.nanoTime() + HeldLookups.SUFFIX;
  private ProxyHarness proxy;

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private List<TestUpstream> backends(int... lastOctets) throws Exception {
    return TestUpstreams.onLoopbackAddresses(closeables, lastOctets);
  }

  static String dnsCluster(String cluster, String type, String host, int port, String extra) {
    return """
          - name: %s
            connect_timeout: 1s
            type: %s
            lb_policy: ROUND_ROBIN
        %s
            load_assignment:
              cluster_name: %s
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: %s, port_value: %d } } }
        """.formatted(cluster, type, extra.isEmpty() ? "" : extra.stripTrailing().indent(4).stripTrailing(), cluster, host,
        port);
  }

  /** /fast/... to cluster "fast", everything else to "dns". */
  private static final String ROUTES = """
                  - name: all
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/fast" }
                      route: { cluster: fast }
                    - match: { prefix: "/" }
                      route: { cluster: dns }
      """;

  private ProxyHarness start(String clusters) throws Exception {
    String routes = clusters.contains("name: fast") ? ROUTES : ProxyHarness.allTo("dns");
    proxy = new ProxyHarness(ProxyHarness.bootstrap(routes, clusters), PipelineMode.INLINE, 1);
    return proxy;
  }

  private Set<String> upstreamsOf(int requests) throws Exception {
    return TestUpstreams.answering(proxy, requests);
  }

  @Test
  void aStrictDnsClusterBalancesAcrossEveryAddressOfItsName() throws Exception {
    List<TestUpstream> b = backends(1, 2);
    HeldLookups.answer(name, "127.0.0.1", "127.0.0.2");
    start(dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(), ""));
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(10)).containsExactlyInAnyOrder("1", "2");
    assertThat(b.get(0).requests.get()).isGreaterThanOrEqualTo(4);
    assertThat(b.get(1).requests.get()).isGreaterThanOrEqualTo(4);
    assertThat(proxy.admin("/clusters")).contains("dns::127.0.0.1:" + b.get(0).port() + "::")
        .contains("dns::127.0.0.2:" + b.get(0).port() + "::").doesNotContain(name);
    assertThat(proxy.stat("cluster.dns.update_success")).isPositive();
    assertThat(proxy.stat("cluster.dns.update_attempt")).isPositive();
  }

  @Test
  void anAddressThatLeavesTheAnswerStopsGettingRequestsAndANewOneStartsWithinTheRefreshRate() throws Exception {
    List<TestUpstream> b = backends(1, 2, 3);
    HeldLookups.answer(name, "127.0.0.1", "127.0.0.2");
    start(dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(), "dns_refresh_rate: 0.2s"));
    await().atMost(WAIT).until(() -> upstreamsOf(4).equals(Set.of("1", "2")));

    HeldLookups.answer(name, "127.0.0.2", "127.0.0.3");
    await().atMost(Duration.ofSeconds(5)).until(() -> upstreamsOf(4).equals(Set.of("2", "3")));
    int toRemoved = b.get(0).requests.get();
    assertThat(upstreamsOf(10)).containsExactlyInAnyOrder("2", "3");
    assertThat(b.get(0).requests.get()).as("the removed address gets no more requests").isEqualTo(toRemoved);
    assertThat(proxy.admin("/clusters")).doesNotContain("dns::127.0.0.1:");
  }

  @Test
  void aFailedRefreshKeepsTheHostsAndCountsAFailure() throws Exception {
    List<TestUpstream> b = backends(1);
    HeldLookups.answer(name, "127.0.0.1");
    start(dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(),
        "dns_refresh_rate: 0.1s\ndns_failure_refresh_rate: { base_interval: 0.1s, max_interval: 0.2s }"));
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    HeldLookups.fail(name);
    await().atMost(WAIT).until(() -> proxy.stat("cluster.dns.update_failure") >= 2);
    assertThat(upstreamsOf(3)).containsExactly("1");
  }

  @Test
  void aLookupThatHangsDelaysNoRequestOnTheEventLoop() throws Exception {
    List<TestUpstream> b = backends(1);
    TestUpstream fast = new TestUpstream("fast");
    closeables.add(fast);
    HeldLookups.answer(name, "127.0.0.1");
    start(dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(), """
        dns_refresh_rate: 0.1s
        typed_extension_protocol_options:
          envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
            "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
            common_http_protocol_options: { max_requests_per_connection: 1 }
            explicit_http_config: { http_protocol_options: {} }""")
        + ProxyHarness.cluster("fast", "ROUND_ROBIN", fast.port()));
    await().atMost(WAIT).until(() -> proxy.admin("/clusters").contains("dns::127.0.0.1:"));

    HeldLookups.delay(name, Duration.ofSeconds(2)); // every lookup from now on takes 2 s
    int before = HeldLookups.lookups(name);
    // a slow lookup is under way before the requests go (the refresh timer may be late on a loaded machine)
    await().atMost(WAIT).until(() -> HeldLookups.lookups(name) > before);
    for (int i = 0; i < 3; i++) {
      long started = System.nanoTime();
      // a new connection to the DNS cluster's host (one request per connection), then the other cluster
      CompletableFuture<HttpResponse<String>> toDns = CompletableFuture.supplyAsync(() -> {
        try {
          return proxy.get("/work");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      Thread.sleep(20);
      long fastStarted = System.nanoTime();
      assertThat(proxy.get("/fast").statusCode()).isEqualTo(200);
      Duration fastTook = Duration.ofNanos(System.nanoTime() - fastStarted);
      assertThat(toDns.get().statusCode()).isEqualTo(200);
      Duration dnsTook = Duration.ofNanos(System.nanoTime() - started);
      assertThat(fastTook).as("the other cluster's request on the same event loop").isLessThan(Duration.ofMillis(1500));
      assertThat(dnsTook).as("the DNS cluster's request uses the last answer").isLessThan(Duration.ofMillis(1500));
    }
  }

  @Test
  void aClusterIsNotUsedBeforeItsFirstResolutionCompletes() throws Exception {
    List<TestUpstream> b = backends(1);
    TestUpstream fast = new TestUpstream("fast");
    closeables.add(fast);
    HeldLookups.hold(name);
    start(dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(), "")
        + ProxyHarness.cluster("fast", "ROUND_ROBIN", fast.port()));
    long started = System.nanoTime();
    HttpResponse<String> warming = proxy.get("/work");
    assertThat(warming.statusCode()).as("a warming cluster is not in service (Envoy's 503 NC)").isEqualTo(503);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
    assertThat(proxy.get("/fast").statusCode()).isEqualTo(200);
    assertThat(b.get(0).requests.get()).isZero();

    HeldLookups.release(name); // answers 127.0.0.1
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(2)).containsExactly("1");
  }

  @Test
  void aFirstResolutionThatFailsPutsTheClusterInServiceWithoutHosts() throws Exception {
    HeldLookups.fail(name);
    start(dnsCluster("dns", "STRICT_DNS", name, 9, ""));
    await().atMost(WAIT).until(() -> proxy.stat("cluster.dns.update_failure") >= 1);
    await().atMost(WAIT).until(() -> proxy.get("/work").body().contains("no healthy upstream"));
  }

  @Test
  void aLogicalDnsClusterTakesTheFirstAddressAndIgnoresTheRest() throws Exception {
    List<TestUpstream> b = backends(1, 2);
    HeldLookups.answer(name, "127.0.0.2", "127.0.0.1");
    start(dnsCluster("dns", "LOGICAL_DNS", name, b.get(0).port(), ""));
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(6)).containsExactly("2");
  }

  /**
   * tcp_proxy to a LOGICAL_DNS cluster: a connection made before the answer changes stays with the old address, a new
   * one goes to the new address, as Envoy's logical host.
   */
  @Test
  void tcpProxyToALogicalDnsClusterSendsOnlyNewConnectionsToTheNewAddress() throws Exception {
    List<TestUpstream> b = backends(1, 2);
    HeldLookups.answer(name, "127.0.0.1");
    String yaml = ProxyHarness.listener("tcp", "", """
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: tcp
                  cluster: dns
        """, dnsCluster("dns", "LOGICAL_DNS", name, b.get(0).port(), "dns_refresh_rate: 0.2s"));
    proxy = null;
    var server = new io.keelson.dataplane.server.ProxyServer(
        io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(yaml, "test.yaml"),
        io.keelson.dataplane.server.ProxyOptions.defaults().withConcurrency(1).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1))).start();
    closeables.add(server);
    int port = server.listenerAddress("tcp").getPort();
    await().atMost(WAIT).until(() -> io.keelson.dataplane.testing.RunningProxies.admin(server, "/clusters")
        .contains("dns::127.0.0.1:"));
    try (Socket old = new Socket("127.0.0.1", port)) {
      assertThat(upstreamOver(old)).isEqualTo("1");
      HeldLookups.answer(name, "127.0.0.2");
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        try (Socket fresh = new Socket("127.0.0.1", port)) {
          return upstreamOver(fresh).equals("2");
        }
      });
      assertThat(upstreamOver(old)).as("the connection made before keeps its address").isEqualTo("1");
    }
  }

  /** One keep-alive HTTP/1.1 exchange over {@code s}: the answering backend's name. */
  private static String upstreamOver(Socket s) throws Exception {
    s.setSoTimeout(10_000);
    OutputStream out = s.getOutputStream();
    out.write("GET /x HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    InputStream in = s.getInputStream();
    String head = RawHttp.readHead(in);
    String upstream = null;
    int length = 0;
    for (String line : head.split("\r\n")) {
      String lower = line.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith("x-upstream:")) {
        upstream = line.substring(line.indexOf(':') + 1).trim();
      } else if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    in.readNBytes(length);
    return upstream;
  }

  @Test
  void everyResolvedAddressIsHealthCheckedAsAHostOfItsOwn() throws Exception {
    List<TestUpstream> b = backends(1, 2); // nothing listens on 127.0.0.3 at that port
    int port = b.get(0).port();
    HeldLookups.answer(name, "127.0.0.1", "127.0.0.2", "127.0.0.3");
    start(dnsCluster("dns", "STRICT_DNS", name, port, """
        health_checks:
        - timeout: 1s
          interval: 0.1s
          no_traffic_interval: 0.1s
          unhealthy_threshold: 1
          healthy_threshold: 1
          tcp_health_check: {}"""));
    await().atMost(WAIT).until(() -> proxy.admin("/clusters")
        .contains("dns::127.0.0.3:" + port + "::health_flags::/failed_active_hc"));
    assertThat(proxy.admin("/clusters")).contains("dns::127.0.0.1:" + port + "::health_flags::healthy")
        .contains("dns::127.0.0.2:" + port + "::health_flags::healthy");
    assertThat(upstreamsOf(12)).containsExactlyInAnyOrder("1", "2");
  }
}
