package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolution.LookupFamily;
import io.keelson.dataplane.config.ProxySnapshot;
import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A DNS cluster's dns fields as Envoy reads them: defaults, the lookup families, what is refused or warned by field. */
class DnsResolutionConfigTest {
  private static String bootstrap(String type, String fields) {
    return """
        static_resources:
          clusters:
          - name: svc
            type: %s
            %s
            load_assignment:
              cluster_name: svc
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: svc.example, port_value: 80 } } }
        """.formatted(type, fields);
  }

  private static DnsResolution dns(String type, String fields) throws ConfigException {
    return BootstrapLoader.fromYaml(bootstrap(type, fields), "c.yaml").cluster("svc").dns();
  }

  @Test
  void envoysDefaultsApplyToAStrictDnsCluster() throws Exception {
    assertThat(dns("STRICT_DNS", "")).isEqualTo(new DnsResolution(false, Duration.ofSeconds(5), Duration.ofSeconds(5),
        Duration.ofSeconds(50), LookupFamily.AUTO));
    assertThat(dns("LOGICAL_DNS", "dns_lookup_family: V4_ONLY").logical()).isTrue();
    assertThat(BootstrapLoader.fromYaml(bootstrap("STATIC", "").replace("svc.example", "127.0.0.1"), "c.yaml")
        .cluster("svc").dns()).isNull();
  }

  @Test
  void readsTheRefreshRatesAndTheFailureBackoff() throws Exception {
    assertThat(dns("STRICT_DNS", "dns_refresh_rate: 0.5s\n    dns_failure_refresh_rate: { base_interval: 1s, max_interval: 4s }"
        + "\n    dns_lookup_family: V4_PREFERRED"))
        .isEqualTo(new DnsResolution(false, Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(4),
            LookupFamily.V4_PREFERRED));
  }

  @Test
  void refusesOutOfRangeRatesByField() {
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_refresh_rate: 0s"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("static_resources.clusters[0].dns_refresh_rate: ");
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_failure_refresh_rate: { max_interval: 1s }"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("dns_failure_refresh_rate.base_interval: is required");
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_failure_refresh_rate: { base_interval: 2s, max_interval: 1s }"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("dns_failure_refresh_rate.max_interval: ");
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } }]"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("static_resources.clusters[0].dns_resolvers");
  }

  @Test
  void respectDnsTtlIsWarnedByFieldSinceTheJdkGivesNoTtl() throws Exception {
    ProxySnapshot s = BootstrapLoader.fromYaml(bootstrap("STRICT_DNS", "respect_dns_ttl: true"), "c.yaml");
    assertThat(s.warnings()).anySatisfy(w -> assertThat(w)
        .startsWith("c.yaml: static_resources.clusters[0].respect_dns_ttl: the JDK resolver does not give"));
  }

  @Test
  void eachLookupFamilyKeepsItsAddresses() throws Exception {
    InetAddress v4 = InetAddress.getByName("192.0.2.1");
    InetAddress v6 = InetAddress.getByName("2001:db8::1");
    InetAddress[] both = {v4, v6};
    assertThat(LookupFamily.V4_ONLY.pick(both)).containsExactly(v4);
    assertThat(LookupFamily.V6_ONLY.pick(both)).containsExactly(v6);
    assertThat(LookupFamily.AUTO.pick(both)).containsExactly(v6);
    assertThat(LookupFamily.AUTO.pick(new InetAddress[] {v4})).containsExactly(v4);
    assertThat(LookupFamily.V4_PREFERRED.pick(both)).containsExactly(v4);
    assertThat(LookupFamily.V4_PREFERRED.pick(new InetAddress[] {v6})).containsExactly(v6);
    assertThat(LookupFamily.ALL.pick(both)).containsExactly(v4, v6);
  }
}
