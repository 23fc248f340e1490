package io.keelson.dataplane.xds;

import static io.keelson.dataplane.xds.MeshResources.address;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.dataplane.config.envoy.AdsSource;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.discovery.Dnsmasq;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bootstrap's DNS resolver config is every DNS cluster's without its own, CDS clusters too, as in Envoy: a
 * STRICT_DNS cluster from the control plane resolves a name only the bootstrap's resolver (a real dnsmasq) knows.
 */
class XdsDnsClusterResolverTest {

  @Test
  void aCdsStrictDnsClusterAsksTheBootstrapsResolver() throws Exception {
    String name = "cds-" + System.nanoTime() + ".test";
    try (Dnsmasq dns = new Dnsmasq(60);
        TestUpstream v1 = new TestUpstream("v1");
        TestUpstream backend = new TestUpstream("2", "127.0.0.2", 0, null);
        JavaControlPlane controlPlane = new JavaControlPlane().start()) {
      dns.answer(name, "127.0.0.2");
      String yaml = dns.bootstrapResolverYaml() + MeshResources.adsBootstrap(controlPlane.port(), v1.port());
      AdsSource ads = BootstrapLoader.parseAdsSource(yaml, "dns.yaml");
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
          XdsClient client = XdsClient.startInstalling(XdsClientConfig.fromBootstrap(ads), proxy.server::install)) {
        controlPlane.set(snapshot("1", List.of(strictDns("dns", name, backend.port())), List.of(),
            List.of(listener(proxy.port())), List.of(route("dns", "1"))));
        // The static listener answers from v1 until the control plane's listener and its DNS cluster are in service.
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          var r = proxy.get("/");
          return r.statusCode() == 200 && r.headers().firstValue("x-upstream").orElse("").equals("2");
        });
        assertThat(dns.queries(name)).as("asked of the bootstrap's resolver").isPositive();
      }
    }
  }

  private static Cluster strictDns(String cluster, String host, int port) {
    return Cluster.newBuilder()
        .setName(cluster)
        .setType(Cluster.DiscoveryType.STRICT_DNS)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(cluster)
            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                .setEndpoint(Endpoint.newBuilder().setAddress(address(host, port))))))
        .build();
  }
}
