package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.InternalAddresses;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.testing.ProxyHarness;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Envoy's HCM xff_num_trusted_hops, skip_xff_append and internal_address_config, translated or rejected by field. */
class EdgeTranslationTest {
  private static String yaml(String... hcmFields) {
    return ProxyHarness.withHcm(ProxyHarness.bootstrap(ProxyHarness.allTo("c"), ProxyHarness.cluster("c", "ROUND_ROBIN", 1)),
        hcmFields);
  }

  private static HttpConnectionManagerConfig hcm(String yaml) throws Exception {
    return BootstrapLoader.fromYaml(yaml, "edge.yaml").listeners().get(0).http();
  }

  @Test
  void translatesTheTrustFields() throws Exception {
    HttpConnectionManagerConfig hcm = hcm(yaml("use_remote_address: true", "xff_num_trusted_hops: 2", "skip_xff_append: true",
        "preserve_external_request_id: true",
        """
        internal_address_config:
          unix_sockets: true
          cidr_ranges:
          - { address_prefix: 10.0.0.0, prefix_len: 8 }
          - { address_prefix: "fd00::", prefix_len: 8 }
        """));
    assertThat(hcm.useRemoteAddress()).isTrue();
    assertThat(hcm.xffNumTrustedHops()).isEqualTo(2);
    assertThat(hcm.skipXffAppend()).isTrue();
    assertThat(hcm.preserveExternalRequestId()).isTrue();
    InternalAddresses internal = hcm.internalAddresses();
    assertThat(internal.unixSockets()).isTrue();
    assertThat(internal.contains(InetAddress.getByName("10.3.4.5"))).isTrue();
    assertThat(internal.contains(InetAddress.getByName("fd01::1"))).isTrue();
    assertThat(internal.contains(InetAddress.getByName("192.168.0.1"))).as("only what is listed").isFalse();
  }

  @Test
  void withoutInternalAddressConfigNothingIsInternalAsInCurrentEnvoy() throws Exception {
    HttpConnectionManagerConfig hcm = hcm(yaml("use_remote_address: true"));
    assertThat(hcm.xffNumTrustedHops()).isZero();
    assertThat(hcm.skipXffAppend()).isFalse();
    assertThat(hcm.preserveExternalRequestId()).isFalse();
    assertThat(hcm.internalAddresses()).isSameAs(InternalAddresses.NONE);
    for (String a : new String[] {"127.0.0.1", "10.0.0.1", "192.168.1.1", "172.16.0.1", "::1"}) {
      assertThat(hcm.internalAddresses().contains(InetAddress.getByName(a))).as(a).isFalse();
    }
  }

  @Test
  void aBadRangeIsAnErrorNamingTheField() {
    assertThatThrownBy(() -> hcm(yaml(
        "internal_address_config: { cidr_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }, { address_prefix: intranet, prefix_len: 8 }] }")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("internal_address_config.cidr_ranges[1]")
        .hasMessageContaining("'intranet' is not an IP address");
    assertThatThrownBy(() -> hcm(yaml(
        "internal_address_config: { cidr_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 33 }] }")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("internal_address_config.cidr_ranges[0]")
        .hasMessageContaining("prefix length 33");
    assertThatThrownBy(() -> hcm(yaml("internal_address_config: { cidr_ranges: [{ address_prefix: 10.0.0.0 }] }")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("internal_address_config.cidr_ranges[0].prefix_len")
        .hasMessageContaining("a prefix_len is required");
  }
}
