package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DNS proxy's upstream and search list from a resolv.conf, and its flag values. */
class DnsConfigTest {
  @Test
  void readsNameserversAndTheLastSearchLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("resolv.conf");
    Files.writeString(file, """
        # generated
        domain example.org
        nameserver 10.96.0.10
        nameserver fe80::1%eth0
        nameserver ::1
        search shop.svc.cluster.local svc.cluster.local cluster.local
        options ndots:5
        """);
    DnsConfig c = DnsConfig.fromResolvConf("127.0.0.1", 15053, file);
    assertThat(c.upstreams()).first().isEqualTo(new InetSocketAddress("10.96.0.10", 53));
    assertThat(c.upstreams()).as("the link-local one with a zone is skipped").hasSize(2);
    assertThat(c.searchDomains()).containsExactly("shop.svc.cluster.local", "svc.cluster.local", "cluster.local");
  }

  @Test
  void noNameserverOrAnUnreadableFileIsAnErrorThatSaysWhatToDo(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("resolv.conf");
    Files.writeString(file, "search example.org\n");
    assertThatThrownBy(() -> DnsConfig.fromResolvConf("127.0.0.1", 15053, file))
        .hasMessageContaining("none in /etc/resolv.conf").hasMessageContaining("--dns-upstream");
    assertThatThrownBy(() -> DnsConfig.fromResolvConf("127.0.0.1", 15053, dir.resolve("missing")))
        .hasMessageContaining("cannot read").hasMessageContaining("--dns-upstream");
  }

  @Test
  void upstreamFlagValues() {
    assertThat(DnsConfig.upstream("--dns-upstream", "10.0.0.2")).isEqualTo(new InetSocketAddress("10.0.0.2", 53));
    assertThat(DnsConfig.upstream("--dns-upstream", "10.0.0.2:5353")).isEqualTo(new InetSocketAddress("10.0.0.2", 5353));
    assertThat(DnsConfig.upstream("--dns-upstream", "[::1]:53").getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
    assertThatThrownBy(() -> DnsConfig.upstream("--dns-upstream", "dns.example.com"))
        .hasMessageContaining("--dns-upstream 'dns.example.com': expected an IP address");
    assertThatThrownBy(() -> DnsConfig.upstream("--dns-upstream", "10.0.0.2:0")).hasMessageContaining("1-65535");
  }
}
