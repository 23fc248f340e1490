package io.keelson.dataplane.dns;

import static io.keelson.dataplane.dns.DnsCacheTest.a;
import static io.keelson.dataplane.dns.DnsCacheTest.query;
import static io.keelson.dataplane.dns.DnsCacheTest.response;
import static io.keelson.dataplane.dns.DnsCacheTest.soa;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link DnsServer}'s cache over real sockets on 127.0.0.1, with an in-test upstream resolver that counts the
 * queries it gets: a repeated query is answered without reaching it (the app's ID and TTLs right), a 1 s TTL and an
 * NXDOMAIN with SOA MINIMUM 1 s expire and are asked again, EDNS answers from the cache carry the proxy's OPT.
 */
class DnsCachingServerTest extends DnsServerFixture {
  /** Queries the upstream got, by name. */
  private final Map<String, AtomicInteger> upstreamGot = new ConcurrentHashMap<>();

  @BeforeEach
  void start() throws Exception {
    upstream = new InTestResolver((q, from) -> answerUpstream(q));
    DnsConfig config = new DnsConfig("127.0.0.1", 0, List.of(upstream.address()),
        List.of(), Duration.ofSeconds(3), 16, 8);
    server = DnsServer.start(config, () -> NameTable.of(Map.of("reviews.default.svc.cluster.local",
        List.of(addr("240.240.3.7"), addr("2001:db8::7")), "ledger.default.svc.cluster.local",
        List.of(addr("240.240.9.1"))), List.of("svc.cluster.local")), stats);
    app = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
    app.setSoTimeout(5000);
  }

  private static InetAddress addr(String text) {
    try {
      return InetAddress.getByName(text);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The resolver: {@code cached.example.com} A TTL 300, {@code short.example.com} A TTL 1, anything else NXDOMAIN with
   * an SOA of TTL 3600 and MINIMUM 1; an OPT record back when the query had one.
   */
  private String answerUpstream(String q) {
    String name = DnsCacheTest.nameOf(q).toLowerCase(java.util.Locale.ROOT);
    upstreamGot.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
    String opt = q.substring(20, 24).equals("0000") ? "" : DnsCacheTest.OPT;
    return switch (name) {
      case "cached.example.com" -> response(q, "8180", List.of(a(300, "5db8d822")), List.of(), opt);
      case "short.example.com" -> response(q, "8180", List.of(a(1, "5db8d823")), List.of(), opt);
      default -> response(q, "8183", List.of(), List.of(soa(3600, 1)), opt);
    };
  }

  private int upstreamGot(String name) {
    AtomicInteger n = upstreamGot.get(name);
    return n == null ? 0 : n.get();
  }

  @Test
  void aRepeatedQueryIsAnsweredFromTheCacheWithoutReachingTheUpstream() throws Exception {
    String first = udp(query(0x1111, "cached.example.com", 1, ""));
    assertThat(first).startsWith("11118180").endsWith("0000012c00045db8d822");
    String second = udp(query(0x2222, "Cached.Example.com", 1, ""));
    assertThat(second).as("the app's ID, its question as asked, a TTL of at most 300")
        .startsWith("22228180" + "0001000100000000" + "06436163686564" + "074578616d706c65" + "03636f6d00")
        .endsWith("00045db8d822");
    assertThat(upstreamGot("cached.example.com")).isEqualTo(1);
    assertThat(count("dns.cache_hit")).isEqualTo(1);
    assertThat(count("dns.cache_miss")).isEqualTo(1);
    assertThat(count("dns.forwarded")).as("both were the upstream's to answer").isEqualTo(2);
    assertThat(count("dns.upstream_responses")).isEqualTo(1);
    // With EDNS: another key; the upstream's OPT passes through, and the proxy's own is kept in its place.
    assertThat(udp(query(3, "cached.example.com", 1, DnsCacheTest.OPT))).endsWith(DnsCacheTest.OPT);
    assertThat(udp(query(4, "cached.example.com", 1, DnsCacheTest.OPT))).startsWith("0004")
        .endsWith(DnsCacheTest.OWN_OPT);
    assertThat(upstreamGot("cached.example.com")).isEqualTo(2);
  }

  @Test
  void anAnswerIsAskedAgainOnceItsTtlHasPassed() throws Exception {
    long start = System.nanoTime();
    udp(query(1, "short.example.com", 1, ""));
    udp(query(2, "short.example.com", 1, ""));
    long secondAt = System.nanoTime();
    if (Duration.ofNanos(secondAt - start).toMillis() < 900) { // on a slow machine the TTL may already be gone
      assertThat(upstreamGot("short.example.com")).as("within the 1 s TTL: from the cache").isEqualTo(1);
    }
    Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
      udp(query(3, "short.example.com", 1, ""));
      return upstreamGot("short.example.com") >= 2;
    });
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void nxdomainIsKeptForTheSoaMinimumThenAskedAgain() throws Exception {
    long start = System.nanoTime();
    String q = query(0x0a0a, "nosuch.example.com", 1, "");
    assertThat(udp(q)).startsWith("0a0a8183");
    assertThat(udp(q)).startsWith("0a0a8183");
    if (Duration.ofNanos(System.nanoTime() - start).toMillis() < 900) {
      assertThat(upstreamGot("nosuch.example.com")).as("within MINIMUM 1 s: from the cache").isEqualTo(1);
      assertThat(count("dns.cache_hit")).isEqualTo(1);
    }
    Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
      udp(q);
      return upstreamGot("nosuch.example.com") >= 2;
    });
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("the SOA's MINIMUM (1 s), not its TTL (3600 s)").isBetween(Duration.ofSeconds(1), Duration.ofSeconds(10));
  }

  @Test
  void meshNamesAnswerAaaaFromTheTablesIpv6AndNodataWhenTheyHaveNone() throws Exception {
    String reviews = "07726576696577730764656661756c7403737663" + "07636c7573746572056c6f63616c00";
    String ledger = "066c65646765720764656661756c7403737663" + "07636c7573746572056c6f63616c00";
    assertThat(udp("000101000001000000000000" + reviews + "001c0001")).startsWith("00018580" + "0001" + "0001")
        .endsWith("001c" + "0001" + "0000001e" + "0010" + "20010db8000000000000000000000007");
    assertThat(udp("000201000001000000000000" + reviews + "00010001")).startsWith("00028580" + "0001" + "0001")
        .endsWith("0004f0f00307");
    assertThat(udp("000301000001000000000000" + ledger + "001c0001")).as("NOERROR, no answer: NODATA, not NXDOMAIN")
        .isEqualTo("00038580" + "0001" + "0000" + "0000" + "0000" + ledger + "001c0001");
    assertThat(upstreamGot).as("never forwarded").isEmpty();
    assertThat(count("dns.nodata")).isEqualTo(1);
  }

  /** {@code dig} (bind9's) against the proxy, end to end: EDNS, BADVERS, AAAA, NODATA and a cached forwarded name. */
  @Test
  void digSeesEdnsBadversAaaaNodataAndCachedAnswers() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(new java.io.File("/usr/bin/dig").canExecute(),
        "dig is not installed (apt-get install dnsutils)");
    String aaaa = dig("reviews.default.svc.cluster.local", "AAAA");
    assertThat(aaaa).contains("status: NOERROR", "flags: qr aa rd ra", "EDNS: version: 0, flags:; udp: 1232")
        .containsPattern("reviews\\.default\\.svc\\.cluster\\.local\\.\\s+30\\s+IN\\s+AAAA\\s+2001:db8::7");
    assertThat(dig("ledger.default.svc.cluster.local", "AAAA")).contains("status: NOERROR", "ANSWER: 0");
    assertThat(dig("nosuch.default.svc.cluster.local", "A")).contains("status: NXDOMAIN");
    assertThat(dig("reviews.default.svc.cluster.local", "A", "+edns=1")).as("dig takes BADVERS and negotiates down")
        .contains(";; BADVERS, retrying with EDNS version 0.", "status: NOERROR", "240.240.3.7");
    assertThat(dig("reviews.default.svc.cluster.local", "A", "+edns=1", "+noednsnegotiation"))
        .contains("status: BADVERS");
    assertThat(dig("reviews.default.svc.cluster.local", "A", "+noedns")).contains("240.240.3.7")
        .doesNotContain("OPT PSEUDOSECTION");
    assertThat(dig("cached.example.com", "A")).contains("93.184.216.34");
    assertThat(dig("cached.example.com", "A")).contains("93.184.216.34");
    assertThat(upstreamGot("cached.example.com")).as("the second dig answered from the cache").isEqualTo(1);
    assertThat(count("dns.cache_hit")).isEqualTo(1);
  }

  private String dig(String name, String type, String... options) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("dig", "@127.0.0.1", "-p",
        String.valueOf(server.udpAddress().getPort()), name, type, "+tries=1", "+time=5"));
    command.addAll(List.of(options));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
