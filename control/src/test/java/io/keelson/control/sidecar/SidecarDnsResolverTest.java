package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.discovery.Dnsmasq;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A sidecar's bootstrap {@code typed_dns_resolver_config} is its CDS DNS clusters' resolver, as with {@code --config}:
 * a DNS ServiceEntry's host that only the bootstrap's resolver (a real dnsmasq) knows is reached through the sidecar.
 */
class SidecarDnsResolverTest {
  @Test
  void aDnsServiceEntryFromTheControlPlaneIsResolvedByTheBootstrapsResolver() throws Exception {
    String host = "se-" + System.nanoTime() + ".test";
    try (Dnsmasq dns = new Dnsmasq(60);
        ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService weather = new SampleService("weather", "v1").start("127.0.0.1", 0)) {
      dns.answer(host, "127.0.0.1");
      SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), "frontend", Map.of(), 1, 0, 0,
          "127.0.0.1", 0);
      String yaml = dns.bootstrapResolverYaml() + b.yaml();
      try (Sidecar client = Sidecar.start(b, yaml, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
          XdsClientConfig.PLAINTEXT, null)) {
        cp.store.apply(PolicyParser.parse("entries.yaml", """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: { name: weather }
            spec:
              hosts: [ %s ]
              resolution: DNS
              ports: [ { number: %d, name: http } ]
            """.formatted(host, weather.port())).policies(), false);
        int outbound = client.outboundAddress().getPort();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> ServiceEntryEndToEndTest
            .served(outbound, host + ":" + weather.port(), null, 1).containsKey("weather-v1"));
        assertThat(dns.queries(host)).as("asked of the bootstrap's resolver").isPositive();
      }
    }
  }
}
