package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolverConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The DNS client as c-ares against a real dnsmasq: the hosts file read again when it changes, resolv.conf's search
 * list over UDP and TCP, rotate_nameservers and query_tries over TCP, and use_resolvers_as_fallback. The hosts file and
 * resolv.conf are the test's own.
 */
class DnsClientSystemSettingsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  @TempDir
  Path dir;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final String name = "svc-" + System.nanoTime();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closing(T c) {
    closeables.add(c);
    return c;
  }

  private DnsClient client(String hosts, String resolvConf) throws Exception {
    Files.writeString(dir.resolve("hosts"), hosts);
    Files.writeString(dir.resolve("resolv.conf"), resolvConf);
    return closing(new DnsClient(Runnable::run, dir.resolve("hosts"), dir.resolve("resolv.conf")));
  }

  private static DnsResolution v4(DnsResolverConfig resolver) {
    return new DnsResolution(false, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(10),
        DnsResolution.LookupFamily.V4_ONLY, true, resolver);
  }

  private static List<InetAddress> lookup(DnsClient client, String host, DnsResolution dns) throws Exception {
    CompletableFuture<DnsAnswer> got = new CompletableFuture<>();
    client.resolve(host, dns, got::complete, got::completeExceptionally);
    return got.get(30, TimeUnit.SECONDS).addresses();
  }

  private static InetSocketAddress local(int port) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
  }

  @Test
  void aChangedHostsFileIsReadAgain() throws Exception {
    DnsClient client = client("10.9.9.1 " + name + ".example\n", "");
    Dnsmasq dns = closing(new Dnsmasq(60));
    DnsResolution resolution = v4(new DnsResolverConfig(List.of(local(dns.port())), false, true, false, TIMEOUT));
    assertThat(lookup(client, name + ".example", resolution)).containsExactly(InetAddress.getByName("10.9.9.1"));
    Files.writeString(dir.resolve("hosts"), "10.9.9.2 " + name + ".example\n");
    await().atMost(Duration.ofSeconds(10)).until(() -> lookup(client, name + ".example", resolution)
        .equals(List.of(InetAddress.getByName("10.9.9.2"))));
    assertThat(dns.queries(name + ".example")).as("answered from the file").isZero();
  }

  @ParameterizedTest(name = "tcp={0}")
  @ValueSource(booleans = {false, true})
  void resolvConfsSearchListCompletesAShortName(boolean tcp) throws Exception {
    Dnsmasq dns = closing(new Dnsmasq(60));
    dns.answer(name + ".test", "127.0.0.2");
    int port = tcp ? closing(new TcpRelay(dns.port())).port() : dns.port();
    DnsClient client = client("", "search other.test test\noptions ndots:1\n");
    DnsResolution resolution = v4(new DnsResolverConfig(List.of(local(port)), tcp, false, false, TIMEOUT));
    assertThat(lookup(client, name, resolution)).containsExactly(InetAddress.getByName("127.0.0.2"));
    assertThat(dns.queries(name + ".other.test")).as("the search list in order").isEqualTo(1);
    DnsResolution asGiven = v4(new DnsResolverConfig(List.of(local(port)), tcp, true, false, TIMEOUT));
    assertThatThrownBy(() -> lookup(client, name, asGiven)).as("no_default_search_domain")
        .isInstanceOf(ExecutionException.class);
  }

  @Test
  void rotateNameserversOverTcpStartsEachLookupAtTheNextServer() throws Exception {
    Dnsmasq dns = closing(new Dnsmasq(60));
    dns.answer(name + ".test", "127.0.0.2");
    TcpRelay first = closing(new TcpRelay(dns.port()));
    TcpRelay second = closing(new TcpRelay(dns.port()));
    DnsClient client = client("", "");
    DnsResolution rotating = v4(new DnsResolverConfig(List.of(local(first.port()), local(second.port())), true, true,
        true, TIMEOUT));
    for (int i = 0; i < 4; i++) {
      assertThat(lookup(client, name + ".test", rotating)).containsExactly(InetAddress.getByName("127.0.0.2"));
    }
    assertThat(first.connections.get()).isEqualTo(2);
    assertThat(second.connections.get()).isEqualTo(2);
  }

  @Test
  void queryTriesAsksAServerAgainOverTcp() throws Exception {
    Dnsmasq dns = closing(new Dnsmasq(60));
    dns.answer(name + ".test", "127.0.0.2");
    TcpRelay once = closing(new TcpRelay(dns.port(), 1)); // the first connection is closed unanswered
    DnsClient client = client("", "");
    assertThatThrownBy(() -> lookup(client, name + ".test",
        v4(new DnsResolverConfig(List.of(local(once.port())), true, true, false, TIMEOUT, 1, false))))
        .isInstanceOf(ExecutionException.class);
    TcpRelay twice = closing(new TcpRelay(dns.port(), 1));
    assertThat(lookup(client, name + ".test",
        v4(new DnsResolverConfig(List.of(local(twice.port())), true, true, false, TIMEOUT, 2, false))))
        .containsExactly(InetAddress.getByName("127.0.0.2"));
    assertThat(twice.connections.get()).isEqualTo(2);
  }

  @Test
  void resolversAsFallbackAreAskedOnlyWhenResolvConfListsNoServer() throws Exception {
    Dnsmasq dns = closing(new Dnsmasq(60));
    dns.answer(name + ".test", "127.0.0.2");
    DnsResolution fallback = v4(new DnsResolverConfig(List.of(local(dns.port())), false, true, false, TIMEOUT, 1, true));
    assertThat(lookup(client("", "search example\n"), name + ".test", fallback))
        .containsExactly(InetAddress.getByName("127.0.0.2"));
    long asked = dns.queries(name + ".test");
    // A system server (nothing listens at 127.0.0.254:53) takes precedence over the fallback.
    DnsClient withSystemServer = client("", "nameserver 127.0.0.254\n");
    assertThatThrownBy(() -> lookup(withSystemServer, name + ".test", fallback)).isInstanceOf(ExecutionException.class);
    assertThat(dns.queries(name + ".test")).isEqualTo(asked);
    DnsResolution own = v4(new DnsResolverConfig(List.of(local(dns.port())), false, true, false, TIMEOUT, 1, false));
    assertThat(lookup(withSystemServer, name + ".test", own)).containsExactly(InetAddress.getByName("127.0.0.2"));
  }
}
