package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolverConfig;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The DNS client answers IP literals and /etc/hosts names itself, as c-ares does, over UDP and TCP alike: no query to
 * the servers (here a port nobody answers on), and no TTL, so dns_refresh_rate paces their refresh; and the bound on
 * the refresh a TTL gives.
 */
class DnsClientLocalAnswerTest {
  @ParameterizedTest
  @ValueSource(strings = {"10.1.2.3", "localhost"})
  void literalsAndHostsFileNamesAreAnsweredWithoutAServerOrATtl(String host) throws Exception {
    try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        DnsClient client = new DnsClient(Runnable::run)) {
      for (boolean tcp : new boolean[] {false, true}) {
        DnsResolverConfig servers = new DnsResolverConfig(
            List.of(new InetSocketAddress("127.0.0.1", silent.getLocalPort())), tcp, true, false, Duration.ofMillis(500));
        DnsResolution dns = new DnsResolution(false, Duration.ofSeconds(5), Duration.ofSeconds(1),
            Duration.ofSeconds(10), DnsResolution.LookupFamily.V4_ONLY, true, servers);
        CompletableFuture<DnsAnswer> got = new CompletableFuture<>();
        client.resolve(host, dns, got::complete, got::completeExceptionally);
        DnsAnswer answer = got.get(10, TimeUnit.SECONDS);
        assertThat(answer.addresses()).as("tcp=%s", tcp).isNotEmpty()
            .allSatisfy(a -> assertThat(a.isLoopbackAddress() || a.getHostAddress().equals(host)).isTrue());
        assertThat(answer.ttlSeconds()).as("tcp=%s", tcp).isEqualTo(DnsAnswer.NO_TTL);
      }
    }
  }

  @Test
  void aTtlWithItsTopBitSetCountsAsZeroAndLongOnesAreCapped() {
    Duration rate = Duration.ofSeconds(5);
    assertThat(DnsClusterResolution.refreshAfterTtl(1L << 31, rate)).isEqualTo(rate);
    assertThat(DnsClusterResolution.refreshAfterTtl(0xFFFF_FFFFL, rate)).isEqualTo(rate);
    assertThat(DnsClusterResolution.refreshAfterTtl(0, rate)).isEqualTo(rate);
    assertThat(DnsClusterResolution.refreshAfterTtl(DnsAnswer.NO_TTL, rate)).isEqualTo(rate);
    assertThat(DnsClusterResolution.refreshAfterTtl(60, rate)).isEqualTo(Duration.ofSeconds(60));
    assertThat(DnsClusterResolution.refreshAfterTtl(86_400, rate))
        .isEqualTo(Duration.ofSeconds(DnsClusterResolution.MAX_TTL_SECONDS));
  }
}
