package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A cluster's {@code upstream_connection_options.tcp_keepalive} on its real upstream sockets, on each transport: the
 * kernel's own view of the pooled connection ({@code ss -tno}) shows a keepalive timer started from the configured
 * idle time; without the option there is none.
 */
class UpstreamKeepaliveTest {
  private static final String KEEPALIVE =
      "upstream_connection_options: { tcp_keepalive: { keepalive_time: 77, keepalive_interval: 5, keepalive_probes: 3 } }\n";

  @ParameterizedTest
  @EnumSource(Transport.class)
  void theUpstreamSocketKeepsAliveWithTheClustersIdleTime(Transport transport) throws Exception {
    Assumptions.assumeTrue(transport.unavailabilityCause() == null, () -> transport + " is not available here");
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), cluster(KEEPALIVE, up.port())), PipelineMode.INLINE,
            transport)) {
      assertThat(proxy.get("/x").statusCode()).isEqualTo(200);
      String timer = timerOfConnectionTo(up.port());
      // "timer:(keepalive,1min16sec,0)": the first probe is due within the 77 s idle time, not the kernel's 2 h.
      assertThat(timer).as("the proxy's pooled connection to the upstream").startsWith("timer:(keepalive,1min");
    }
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), cluster("", up.port())), PipelineMode.INLINE,
            transport)) {
      assertThat(proxy.get("/x").statusCode()).isEqualTo(200);
      assertThat(timerOfConnectionTo(up.port())).as("without tcp_keepalive").doesNotContain("keepalive");
    }
  }

  /** The timer column ss shows for the one established connection to 127.0.0.1:{@code port}, or "" without one. */
  private static String timerOfConnectionTo(int port) throws Exception {
    Process p = new ProcessBuilder(List.of("ss", "-tnoH", "state", "established", "dst", "127.0.0.1:" + port))
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    assertThat(lines).as("ss output: %s", out).hasSize(1);
    int at = lines.getFirst().indexOf("timer:(");
    return at < 0 ? "" : lines.getFirst().substring(at);
  }
}
