package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchOptionsTest {
  @Test
  void defaultsRunEveryScenarioThreeTimesForTenSecondsWithEveryPeer() {
    BenchOptions o = BenchOptions.parse();

    assertThat(o.scenarios()).containsExactly("http1-keepalive", "http1-close", "http1-keepalive-observed",
        "http1-keepalive-traced-all", "http1-keepalive-observability", "http1-keepalive-resilient", "tls-keepalive", "tls-handshake", "h2c-multiplexed", "h2c-keepalive", "h2-tls-multiplexed",
        "h2-tls-handshake", "two-hop-plaintext", "two-hop-mtls", "two-hop-mtls-turns", "packet", "packet-hugepages");
    assertThat(o.peers()).isEmpty();
    assertThat(Scenarios.peerNames()).containsExactly("direct", "keelson", "nginx", "haproxy", "keelson-observed",
        "keelson-traced-all", "keelson-mtls");
    assertThat(o.includes("haproxy")).isTrue();
    assertThat(o.runs()).isEqualTo(3);
    assertThat(o.durationSeconds()).isEqualTo(10);
    assertThat(o.connections()).isEqualTo(50);
    assertThat(o.install()).isTrue();
    assertThat(o.upstreamOnProxyCore()).as("by default the upstream shares core 1 with the load generator").isFalse();
    assertThat(o.strict()).isFalse();
    assertThat(o.jmh()).isFalse();
    assertThat(o.out()).as("absolute: nginx resolves paths against its own prefix").isAbsolute();
    assertThat(o.out().getParent().getFileName().toString()).isEqualTo("bench-results");
    assertThat(BenchOptions.parse("--out", "rel/dir").out()).isEqualTo(Path.of("rel/dir").toAbsolutePath());
  }

  @Test
  void quickShortensRunsAndExplicitValuesWin() {
    BenchOptions o = BenchOptions.parse("--quick", "--connections", "8");

    assertThat(o.durationSeconds()).isEqualTo(BenchOptions.QUICK_DURATION);
    assertThat(o.runs()).isEqualTo(3);
    assertThat(o.connections()).isEqualTo(8);
    assertThat(o.scenarios()).as("the packet path is too long for --quick; TLS keep-alive is its TLS smoke")
        .containsExactly("http1-keepalive", "http1-close", "http1-keepalive-resilient", "tls-keepalive", "h2c-multiplexed");
    assertThat(BenchOptions.parse("--quick", "packet").scenarios()).containsExactly("packet");
    assertThat(BenchOptions.parse("--quick", "two-hop-plaintext", "two-hop-mtls").scenarios())
        .as("the two-hop scenarios run under --quick only when named")
        .containsExactly("two-hop-plaintext", "two-hop-mtls");
  }

  @Test
  void upstreamOnProxyCoreMovesOnlyTheUpstreamToTheProxysCore() {
    BenchOptions o = BenchOptions.parse("two-hop-mtls-turns", "--upstream-on-proxy-core");
    CpuPinning pinned = new CpuPinning(CpuPinning.Cpus.core("taskset", 0), CpuPinning.Cpus.core("taskset", 1),
        "proxy on core 0; load generator and upstream on core 1 (taskset)");

    assertThat(o.upstreamOnProxyCore()).isTrue();
    assertThat(o.scenarios()).containsExactly("two-hop-mtls-turns");
    assertThat(pinned.upstream(true).prefix()).containsExactly("taskset", "-c", "0");
    assertThat(pinned.upstream(false).prefix()).containsExactly("taskset", "-c", "1");
    assertThat(pinned.describe(true)).startsWith("proxy and upstream on core 0; load generator alone on core 1");
    assertThat(pinned.describe(false)).isEqualTo(pinned.description());
    CpuPinning unpinned = new CpuPinning(CpuPinning.Cpus.NONE, CpuPinning.Cpus.NONE, "not pinned: only 1 core");
    assertThat(unpinned.describe(true)).isEqualTo("not pinned: only 1 core");
  }

  @Test
  void jmhAloneRunsNoScenarioAndTakesAnOptionalPattern() {
    assertThat(BenchOptions.parse("--jmh").scenarios()).isEmpty();
    assertThat(BenchOptions.parse("--jmh").jmhPattern()).isNull();
    assertThat(BenchOptions.parse("--jmh", "Route.*").jmhPattern()).isEqualTo("Route.*");
    BenchOptions both = BenchOptions.parse("--jmh", "http1-close");
    assertThat(both.jmhPattern()).isNull();
    assertThat(both.scenarios()).containsExactly("http1-close");
  }

  @Test
  void acceptsOptionEqualsValueForms() {
    BenchOptions o = BenchOptions.parse("--runs=5", "--out=/tmp/x", "--keelson-arg=--pipeline=disruptor",
      "--peers=direct,keelson");

    assertThat(o.runs()).isEqualTo(5);
    assertThat(o.out()).isEqualTo(Path.of("/tmp/x"));
    assertThat(o.keelsonArgs()).containsExactly("--pipeline=disruptor");
    assertThat(o.peers()).containsExactly("direct", "keelson");
    assertThat(o.includes("nginx")).isFalse();
  }

  @Test
  void rejectsUnknownScenariosPeersAndBadNumbersWithWhatIsExpected() {
    assertThatThrownBy(() -> BenchOptions.parse("http9")).hasMessageContaining("unknown scenario 'http9'")
      .hasMessageContaining("http1-keepalive");
    assertThatThrownBy(() -> BenchOptions.parse("--peers", "envoy")).hasMessageContaining("unknown peer 'envoy'");
    assertThatThrownBy(() -> BenchOptions.parse("--runs", "many")).hasMessageContaining("--runs expects a whole number");
    assertThatThrownBy(() -> BenchOptions.parse("--duration", "0")).hasMessageContaining("at least 1");
    assertThatThrownBy(() -> BenchOptions.parse("--runs")).hasMessageContaining("--runs needs a value");
    assertThatThrownBy(() -> BenchOptions.parse("--fast")).hasMessageContaining("unknown option --fast");
  }

  @Test
  void commandLineQuotesWhatAShellWouldSplit() {
    BenchOptions o = BenchOptions.parse("--quick", "--keelson-jvm-opts", "-Xmx1g -Xms1g");

    assertThat(o.commandLine()).isEqualTo("bin/keelson bench --quick --keelson-jvm-opts '-Xmx1g -Xms1g'");
    assertThat(o.keelsonJvmOpts()).isEqualTo("-Xmx1g -Xms1g");
  }

  @Test
  void shellWordsQuoteSpacesAndQuotes() {
    assertThat(ShellWords.join(java.util.List.of("wrk", "-H", "Connection: close", "it's", "http://127.0.0.1:80/")))
        .isEqualTo("wrk -H 'Connection: close' 'it'\\''s' http://127.0.0.1:80/");
  }

  @Test
  void helpListsEveryScenario() {
    assertThat(BenchOptions.usage()).contains("http1-keepalive", "http1-close", "packet", "--quick", "--strict", "--jmh");
  }
}
