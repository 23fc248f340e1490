package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.transport.Transport;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A listener at {@code [::]} with {@code ipv4_compat: true} (what the control plane gives captured sidecars'
 * virtualOutbound and virtualInbound, as istiod's {@code ::} wildcard): one socket that serves IPv4 and IPv6 clients,
 * read without a warning, on every transport.
 */
class DualStackListenerTest {

  @ParameterizedTest
  @EnumSource(Transport.class)
  void anIpv6WildcardListenerWithIpv4CompatServesBothFamilies(Transport transport) throws Exception {
    try (TestUpstream upstream = new TestUpstream("backend")) {
      String yaml = ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND,
              ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port()))
          .replace("address: { socket_address: { address: 127.0.0.1, port_value: 0 } }",
              "address: { socket_address: { address: \"::\", port_value: 0, ipv4_compat: true } }");
      assertThat(yaml).contains("ipv4_compat: true");
      assertThat(BootstrapLoader.fromYaml(yaml, "test.yaml").warnings()).isEmpty();
      org.junit.jupiter.api.Assumptions.assumeTrue(transport != Transport.IO_URING
          || io.netty.channel.uring.IoUring.isAvailable(), "no io_uring here");
      org.junit.jupiter.api.Assumptions.assumeTrue(transport != Transport.EPOLL
          || io.netty.channel.epoll.Epoll.isAvailable(), "no epoll here");
      try (ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE, transport)) {
        for (String host : new String[] {"127.0.0.1", "[::1]"}) {
          HttpResponse<String> r = proxy.send(HttpRequest.newBuilder(
              URI.create("http://" + host + ":" + proxy.port() + "/family")).timeout(Duration.ofSeconds(10)));
          assertThat(r.statusCode()).as(host).isEqualTo(200);
          assertThat(r.headers().firstValue("x-upstream")).as(host).hasValue("backend");
        }
      }
    }
  }
}
