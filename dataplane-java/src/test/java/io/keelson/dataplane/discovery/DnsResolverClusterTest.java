package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DNS clusters whose resolver config names a real DNS server (dnsmasq on loopback, {@link Dnsmasq}): its answers route
 * the traffic, respect_dns_ttl asks again at the answer's TTL, use_tcp_for_dns_lookups asks over TCP, and a dead
 * server leaves the cluster its hosts. Real backends on 127.0.0.2 and 127.0.0.3.
 */
class DnsResolverClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final String name = "svc-" + System.nanoTime() + ".test";
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

  private Dnsmasq dnsmasq(int ttlSeconds) throws Exception {
    Dnsmasq d = new Dnsmasq(ttlSeconds);
    closeables.add(d);
    return d;
  }

  private static String cares(int port, String options) {
    return cares(port, options, "");
  }

  private static String cares(int port, String options, String caresFields) {
    return """
        typed_dns_resolver_config:
          name: envoy.network.dns_resolver.cares
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
            resolvers: [{ socket_address: { address: 127.0.0.1, port_value: %d } }]
            dns_resolver_options: { no_default_search_domain: true%s }
            %s
        """.formatted(port, options, caresFields);
  }

  private void start(String clusterFields, int backendPort, String bootstrapFields) throws Exception {
    start(name, clusterFields, backendPort, bootstrapFields);
  }

  private void start(String host, String clusterFields, int backendPort, String bootstrapFields) throws Exception {
    String yaml = bootstrapFields + ProxyHarness.bootstrap(ProxyHarness.allTo("dns"),
        DnsClusterProxyTest.dnsCluster("dns", "STRICT_DNS", host, backendPort, clusterFields));
    proxy = new ProxyHarness(yaml, PipelineMode.INLINE, 1);
  }

  private Set<String> upstreamsOf(int requests) throws Exception {
    return TestUpstreams.answering(proxy, requests);
  }

  @Test
  void aStrictDnsClusterRoutesToTheAddressesItsResolverAnswers() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2, 3);
    Dnsmasq dns = dnsmasq(60);
    dns.answer(name, "127.0.0.2", "127.0.0.3");
    start(cares(dns.port(), ""), b.get(0).port(), "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(10)).containsExactlyInAnyOrder("2", "3");
    assertThat(dns.queries(name)).as("asked of the configured server").isPositive();
    assertThat(proxy.admin("/clusters")).contains("dns::127.0.0.2:" + b.get(0).port() + "::")
        .contains("dns::127.0.0.3:" + b.get(0).port() + "::");
  }

  @Test
  void theBootstrapsResolverConfigServesAClusterWithoutItsOwn() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2);
    Dnsmasq dns = dnsmasq(60);
    dns.answer(name, "127.0.0.2");
    start("", b.get(0).port(), cares(dns.port(), ""));
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(3)).containsExactly("2");
    assertThat(dns.queries(name)).isPositive();
  }

  @Test
  void withRespectDnsTtlTheNameIsAskedAgainAtItsTtlAndNotBefore() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2, 3);
    Dnsmasq dns = dnsmasq(6);
    dns.answer(name, "127.0.0.2");
    // dns_refresh_rate alone would ask every 0.2 s: the answer's 6 s TTL decides instead.
    start(cares(dns.port(), "") + "respect_dns_ttl: true\ndns_refresh_rate: 0.2s\n", b.get(0).port(), "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    long asked = dns.queries(name);
    await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> dns.queries(name) > asked); // a refresh now
    dns.answer(name, "127.0.0.3");
    long changed = System.nanoTime();
    while (System.nanoTime() - changed < Duration.ofSeconds(3).toNanos()) {
      assertThat(upstreamsOf(1)).as("the answer is cached for its TTL").containsExactly("2");
    }
    assertThat(dns.queries(name)).as("no lookup before the TTL").isEqualTo(asked + 1);
    await().atMost(WAIT).until(() -> upstreamsOf(1).equals(Set.of("3")));
    assertThat(System.nanoTime() - changed).isGreaterThan(Duration.ofSeconds(4).toNanos());
  }

  /**
   * Each name of a STRICT_DNS cluster is refreshed on its own timer, as Envoy: with respect_dns_ttl a name with a 1 s
   * TTL is asked again every second while another with a 60 s TTL is not asked again.
   */
  @Test
  void eachNameIsRefreshedAtItsOwnTtl() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2, 3);
    String slow = "slow-" + System.nanoTime() + ".test";
    Dnsmasq dns = new Dnsmasq(1, slow + ",127.0.0.3,60");
    closeables.add(dns);
    dns.answer(name, "127.0.0.2");
    String cluster = DnsClusterProxyTest.dnsCluster("dns", "STRICT_DNS", name, b.get(0).port(),
        cares(dns.port(), "") + "respect_dns_ttl: true\ndns_refresh_rate: 0.2s\n")
        + "        - endpoint: { address: { socket_address: { address: %s, port_value: %d } } }\n"
            .formatted(slow, b.get(0).port());
    proxy = new ProxyHarness(ProxyHarness.bootstrap(ProxyHarness.allTo("dns"), cluster), PipelineMode.INLINE, 1);
    await().atMost(WAIT).ignoreExceptions().until(() -> upstreamsOf(6).equals(Set.of("2", "3")));
    long fast = dns.queries(name);
    await().atMost(WAIT).until(() -> dns.queries(name) >= fast + 3); // about 3 s of 1 s TTLs
    assertThat(dns.queries(slow)).as("the 60 s name is not asked again at the other's TTL").isEqualTo(1);
    assertThat(upstreamsOf(6)).containsExactlyInAnyOrder("2", "3");
  }

  /** dns_jitter adds a random pause below it to each refresh: with 10 s of jitter a 0.1 s refresh rate rarely asks. */
  @Test
  void dnsJitterLengthensThePauseBetweenRefreshes() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2);
    Dnsmasq dns = dnsmasq(60);
    dns.answer(name, "127.0.0.2");
    start(cares(dns.port(), "") + "dns_refresh_rate: 0.1s\ndns_jitter: 10s\n", b.get(0).port(), "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    long asked = dns.queries(name);
    long since = System.nanoTime();
    while (System.nanoTime() - since < Duration.ofSeconds(2).toNanos()) { // 0.1 s alone: about 20 lookups
      assertThat(upstreamsOf(1)).containsExactly("2");
    }
    assertThat(dns.queries(name) - asked).isLessThan(5);
  }

  /**
   * An IP-literal endpoint in a DNS cluster with a resolver config and respect_dns_ttl (as istiod writes every DNS
   * cluster): the literal is its own answer, over UDP and TCP alike, with no query to the server.
   */
  @ParameterizedTest
  @ValueSource(strings = {"", ", use_tcp_for_dns_lookups: true"})
  void anIpLiteralEndpointIsItsOwnAnswer(String options) throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2);
    Dnsmasq dns = dnsmasq(60);
    start("127.0.0.2", cares(dns.port(), options) + "respect_dns_ttl: true\ndns_refresh_rate: 0.2s\n", b.get(0).port(),
        "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(3)).containsExactly("2");
    assertThat(dns.queries("127.0.0.2")).isZero();
  }

  @Test
  void useTcpForDnsLookupsAsksOverTcp() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2);
    Dnsmasq dns = dnsmasq(60);
    dns.answer(name, "127.0.0.2");
    // Only TCP at the resolver's port: a UDP query there gets nothing back.
    TcpRelay relay = new TcpRelay(dns.port());
    closeables.add(relay);
    start(cares(relay.port(), ", use_tcp_for_dns_lookups: true"), b.get(0).port(), "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    assertThat(upstreamsOf(3)).containsExactly("2");
    assertThat(relay.connections.get()).isPositive();
  }

  @Test
  void aDeadResolverLeavesTheClusterItsHostsAndCountsTheFailures() throws Exception {
    List<TestUpstream> b = TestUpstreams.onLoopbackAddresses(closeables, 2);
    Dnsmasq dns = dnsmasq(1);
    dns.answer(name, "127.0.0.2");
    start(cares(dns.port(), "", "query_timeout_seconds: 1") + "dns_refresh_rate: 0.2s\n"
        + "dns_failure_refresh_rate: { base_interval: 0.2s, max_interval: 0.5s }\n", b.get(0).port(), "");
    await().atMost(WAIT).until(() -> proxy.get("/work").statusCode() == 200);
    dns.stop();
    long failures = proxy.stat("cluster.dns.update_failure");
    await().atMost(WAIT).until(() -> proxy.stat("cluster.dns.update_failure") >= failures + 2);
    assertThat(upstreamsOf(5)).containsExactly("2");
  }
}
