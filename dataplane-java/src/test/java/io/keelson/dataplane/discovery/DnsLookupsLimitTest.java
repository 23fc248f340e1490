package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.stats.ClusterStats;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Per-name lookups past the limit of lookups started at once wait their turn instead of failing: a STRICT_DNS cluster
 * with more names than the (lowered) limit finishes warming with every name answered and no update_failure, through
 * the JDK's lookup (IP literals) and through DnsClient against a real dnsmasq.
 */
class DnsLookupsLimitTest {
  private static final int NAMES = 12;
  private static final int LIMIT = 2;

  private static ClusterConfig cluster(String top, String hostFormat) throws Exception {
    String endpoints = IntStream.range(0, NAMES).mapToObj(i -> "        - endpoint: { address: { socket_address: {"
        + " address: " + hostFormat.formatted(i) + ", port_value: 80 } } }").collect(Collectors.joining("\n"));
    return BootstrapLoader.fromYaml(top + """
        static_resources:
          clusters:
          - name: svc
            type: STRICT_DNS
            dns_refresh_rate: 60s
            load_assignment:
              cluster_name: svc
              endpoints:
              - lb_endpoints:
        %s
        """.formatted(endpoints), "limit.yaml").cluster("svc");
  }

  private static void assertEveryNameAnswered(ClusterConfig c, int expectedHosts) {
    ClusterStats stats = new StatsRegistry().cluster("svc");
    try (DnsLookups lookups = new DnsLookups(LIMIT)) {
      DnsClusterResolution r = new DnsClusterResolution(c, lookups, stats, () -> { });
      r.start();
      await().atMost(Duration.ofSeconds(20)).until(r::done);
      assertThat(r.resolved().endpoints()).extracting(EndpointConfig::host).hasSize(expectedHosts);
      assertThat(stats.updateFailure.sum()).as("update_failure").isZero();
      assertThat(stats.updateSuccess.sum()).as("update_success").isEqualTo(NAMES);
      r.stop();
    }
  }

  @Test
  void systemLookupsPastTheLimitWaitTheirTurn() throws Exception {
    assertEveryNameAnswered(cluster("", "127.0.1.%d"), NAMES);
  }

  @Test
  void resolverLookupsPastTheLimitWaitTheirTurn() throws Exception {
    String prefix = "n" + System.nanoTime() + "-";
    String[] records = IntStream.range(0, NAMES).mapToObj(i -> prefix + i + ".test,127.0.2." + (i + 1))
        .toArray(String[]::new);
    try (Dnsmasq dns = new Dnsmasq(60, records)) {
      assertEveryNameAnswered(cluster(dns.bootstrapResolverYaml(), prefix + "%d.test"), NAMES);
      assertThat(dns.queries(prefix + (NAMES - 1) + ".test")).as("the last name asked of dnsmasq").isPositive();
    }
  }

  @Test
  void theLimitIsBetweenOneAndTheQueue() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new DnsLookups(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 1..256");
  }
}
