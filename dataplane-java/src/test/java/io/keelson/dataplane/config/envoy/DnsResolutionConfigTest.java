package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolution.LookupFamily;
import io.keelson.dataplane.config.DnsResolverConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
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
  }

  @Test
  void respectDnsTtlIsReadWithoutAWarning() throws Exception {
    ProxySnapshot s = BootstrapLoader.fromYaml(bootstrap("STRICT_DNS", "respect_dns_ttl: true"), "c.yaml");
    assertThat(s.cluster("svc").dns().respectTtl()).isTrue();
    assertThat(s.cluster("svc").dns().needsDnsClient()).isTrue();
    assertThat(s.warnings()).noneMatch(w -> w.contains("respect_dns_ttl"));
    assertThat(dns("STRICT_DNS", "").needsDnsClient()).as("the JDK's resolver by default").isFalse();
  }

  private static String cares(String fields) {
    return """
        typed_dns_resolver_config:
              name: envoy.network.dns_resolver.cares
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
                %s""".formatted(fields);
  }

  @Test
  void readsTheCaresResolverConfig() throws Exception {
    DnsResolverConfig r = dns("STRICT_DNS", cares("resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } },"
        + " { socket_address: { address: \"::1\", port_value: 5353 } }]\n"
        + "        dns_resolver_options: { use_tcp_for_dns_lookups: true, no_default_search_domain: true }\n"
        + "        rotate_nameservers: true\n        query_timeout_seconds: 2\n        udp_max_queries: 100"))
        .resolver();
    assertThat(r).isEqualTo(new DnsResolverConfig(List.of(new InetSocketAddress("10.0.0.1", 53),
        new InetSocketAddress("::1", 5353)), true, true, true, Duration.ofSeconds(2)));
  }

  @Test
  void readsQueryTriesTheFallbackFlagAndTheJitter() throws Exception {
    DnsResolution dns = dns("STRICT_DNS", cares("resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } }]\n"
        + "        dns_resolver_options: { use_tcp_for_dns_lookups: true }\n        rotate_nameservers: true\n"
        + "        query_tries: 2\n        use_resolvers_as_fallback: true") + "\n    dns_jitter: 0.3s");
    assertThat(dns.resolver()).isEqualTo(new DnsResolverConfig(List.of(new InetSocketAddress("10.0.0.1", 53)), true,
        false, true, DnsResolverConfig.DEFAULT_QUERY_TIMEOUT, 2, true));
    assertThat(dns.jitter()).isEqualTo(Duration.ofMillis(300));
    assertThat(dns("STRICT_DNS", cares("resolvers: []")).resolver().tries()).as("Envoy's default")
        .isEqualTo(DnsResolverConfig.DEFAULT_TRIES);
    ProxySnapshot tcp = BootstrapLoader.fromYaml(bootstrap("STRICT_DNS", cares(
        "resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } }]\n"
        + "        dns_resolver_options: { use_tcp_for_dns_lookups: true }\n        rotate_nameservers: true")), "c.yaml");
    assertThat(tcp.warnings()).as("TCP lookups rotate and search as UDP ones")
        .noneMatch(w -> w.contains("rotate_nameservers") || w.contains("use_tcp"));
    assertThatThrownBy(() -> dns("STRICT_DNS", cares("query_tries: 0")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.query_tries: 0 is out of range");
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_jitter: -1s"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("static_resources.clusters[0].dns_jitter: ");
  }

  @Test
  void readsTheDeprecatedResolverFields() throws Exception {
    assertThat(dns("STRICT_DNS", "dns_resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } }]\n"
        + "    use_tcp_for_dns_lookups: true").resolver())
        .isEqualTo(new DnsResolverConfig(List.of(new InetSocketAddress("10.0.0.1", 53)), true, false, false,
            DnsResolverConfig.DEFAULT_QUERY_TIMEOUT));
    assertThat(dns("LOGICAL_DNS", "dns_resolution_config: { resolvers: [{ socket_address: { address: 10.0.0.2,"
        + " port_value: 53 } }], dns_resolver_options: { no_default_search_domain: true } }").resolver())
        .isEqualTo(new DnsResolverConfig(List.of(new InetSocketAddress("10.0.0.2", 53)), false, true, false,
            DnsResolverConfig.DEFAULT_QUERY_TIMEOUT));
  }

  @Test
  void theBootstrapsResolverIsTheDefaultOfClustersWithoutTheirOwn() throws Exception {
    String bootstrap = """
        typed_dns_resolver_config:
          name: envoy.network.dns_resolver.cares
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
            resolvers: [{ socket_address: { address: 10.0.0.9, port_value: 53 } }]
        """ + bootstrap("STRICT_DNS", "") + bootstrap("STRICT_DNS",
        "dns_resolvers: [{ socket_address: { address: 10.0.0.1, port_value: 53 } }]")
        .replace("static_resources:\n  clusters:\n", "").replace("name: svc", "name: own");
    ProxySnapshot s = BootstrapLoader.fromYaml(bootstrap, "c.yaml");
    assertThat(s.cluster("svc").dns().resolver().resolvers()).containsExactly(new InetSocketAddress("10.0.0.9", 53));
    assertThat(s.cluster("own").dns().resolver().resolvers()).containsExactly(new InetSocketAddress("10.0.0.1", 53));
  }

  @Test
  void refusesWhatTheResolverCannotRunByField() {
    assertThatThrownBy(() -> dns("STRICT_DNS", cares("resolvers: [{ socket_address: { address: dns.example, port_value: 53 } }]")))
        .isInstanceOf(ConfigException.class).hasMessageContaining(
            "static_resources.clusters[0].typed_dns_resolver_config.typed_config.resolvers[0].socket_address.address:"
                + " 'dns.example' is not an IP address");
    assertThatThrownBy(() -> dns("STRICT_DNS", "dns_resolvers: [{ socket_address: { address: 10.0.0.1 } }]"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("static_resources.clusters[0].dns_resolvers[0].socket_address.port_value: 0 is out of range");
    assertThatThrownBy(() -> dns("STRICT_DNS", cares("filter_unroutable_families: true")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("typed_dns_resolver_config.typed_config.filter_unroutable_families: not supported");
    assertThatThrownBy(() -> dns("STRICT_DNS", """
        typed_dns_resolver_config:
              name: envoy.network.dns_resolver.getaddrinfo
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"""))
        .isInstanceOf(ConfigException.class).hasMessageContaining("typed_dns_resolver_config.typed_config: type")
        .hasMessageContaining("expected envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig");
  }

  @Test
  void aBootstrapResolverWithDynamicResourcesIsTheXdsClustersDefault() throws Exception {
    String yaml = """
        use_tcp_for_dns_lookups: true
        dynamic_resources:
          ads_config: { api_type: GRPC, transport_api_version: V3, grpc_services: [{ envoy_grpc: { cluster_name: xds } }] }
          lds_config: { ads: {}, resource_api_version: V3 }
          cds_config: { ads: {}, resource_api_version: V3 }
        static_resources:
          clusters:
          - name: xds
            type: STATIC
            load_assignment:
              cluster_name: xds
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18000 } } }
        """;
    assertThat(BootstrapLoader.parseAdsSource(yaml, "c.yaml").dnsResolver()).isEqualTo(
        new io.keelson.dataplane.config.DnsResolverConfig(java.util.List.of(), true, false, false,
            io.keelson.dataplane.config.DnsResolverConfig.DEFAULT_QUERY_TIMEOUT));
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
