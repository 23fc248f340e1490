package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link DnsCache} on wire bytes with a test clock: positive answers kept for their least TTL and served with the
 * TTLs aged and the query's ID and question case; negative ones for the SOA's negative TTL (RFC 2308); caps; what is
 * never kept; keys by name (any case), type, class and EDNS/DO; least recently used eviction.
 */
class DnsCacheTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final String NO_OPT = "";
  static final String OPT = "0000291000" + "00000000" + "0000"; // 4096 bytes, version 0, no DO
  private static final String OPT_DO = "0000291000" + "00008000" + "0000";
  /** The proxy's own OPT: 1232 bytes, version 0, no DO, no options. */
  static final String OWN_OPT = "00002904d0" + "00000000" + "0000";

  private final StatsRegistry registry = new StatsRegistry();
  private final DnsStats stats = new DnsStats(registry);
  private final DnsAnswerer answerer = new DnsAnswerer(List.of());
  private long now = 1_000_000_000L;
  private DnsCache cache = new DnsCache(16, 300, 60, () -> now, stats);

  /** {@code dotted} as wire labels. */
  static String name(String dotted) {
    StringBuilder b = new StringBuilder();
    for (String label : dotted.split("\\.")) {
      b.append(String.format("%02x", label.length())).append(HEX.formatHex(label.getBytes()));
    }
    return b.append("00").toString();
  }

  static String query(int id, String name, int type, String opt) {
    return String.format("%04x", id) + "0100" + "0001" + "0000" + "0000" + (opt.isEmpty() ? "0000" : "0001")
        + name(name) + String.format("%04x", type) + "0001" + opt;
  }

  /** An answer record for the question's name (a pointer to it): A, {@code ttl}, {@code address} (8 hex digits). */
  static String a(int ttl, String address) {
    return "c00c" + "0001" + "0001" + String.format("%08x", ttl) + "0004" + address;
  }

  /** An SOA record for the question's name, TTL {@code ttl}, MINIMUM {@code minimum}. */
  static String soa(int ttl, int minimum) {
    String rdata = "026e73c00c" + "0a686f73746d6173746572c00c" + "00000001" + "00000e10" + "00000258" + "00093a80"
        + String.format("%08x", minimum);
    return "c00c" + "0006" + "0001" + String.format("%08x", ttl) + String.format("%04x", rdata.length() / 2) + rdata;
  }

  /** An upstream's answer to {@code query}: its ID and question, {@code flags}, answers, authority, and its OPT. */
  static String response(String query, String flags, List<String> answers, List<String> authority, String opt) {
    int questionEnd = 24 + (name(nameOf(query)).length()) + 8;
    return query.substring(0, 4) + flags + "0001" + String.format("%04x", answers.size())
        + String.format("%04x", authority.size()) + (opt.isEmpty() ? "0000" : "0001") + query.substring(24, questionEnd)
        + String.join("", answers) + String.join("", authority) + opt;
  }

  static String nameOf(String query) {
    StringBuilder b = new StringBuilder();
    int at = 24;
    while (!query.startsWith("00", at)) {
      int length = Integer.parseInt(query.substring(at, at + 2), 16);
      b.append(b.isEmpty() ? "" : ".").append(new String(HEX.parseHex(query.substring(at + 2, at + 2 + 2 * length))));
      at += 2 + 2 * length;
    }
    return b.toString();
  }

  /** Looks {@code query} up as the server does over UDP; on a miss, stores {@code upstreamAnswer} when given. */
  private String ask(String query, String upstreamAnswer) {
    return ask(query, upstreamAnswer, Edns.PAYLOAD_SIZE);
  }

  private String ask(String query, String upstreamAnswer, int limit) {
    return ask(query, upstreamAnswer, limit, query);
  }

  /** As {@link #ask(String, String, int)}, the upstream having been sent {@code forwarded}. */
  private String ask(String query, String upstreamAnswer, int limit, String forwarded) {
    ByteBuf q = Unpooled.wrappedBuffer(HEX.parseHex(query));
    ByteBuf scratch = Unpooled.buffer();
    assertThat(answerer.answer(q, NameTable.EMPTY, scratch, true)).isEqualTo(DnsAnswerer.Outcome.FORWARD);
    ByteBuf hit = cache.answer(q, answerer, limit, UnpooledByteBufAllocator.DEFAULT);
    if (hit != null) {
      String hex = ByteBufUtil.hexDump(hit);
      hit.release();
      return hex;
    }
    if (upstreamAnswer != null) {
      cache.store(cache.probe(), Unpooled.wrappedBuffer(HEX.parseHex(forwarded)),
          Unpooled.wrappedBuffer(HEX.parseHex(upstreamAnswer)), limit > Edns.PAYLOAD_SIZE);
    }
    return null;
  }

  private void advanceMillis(long millis) {
    now += TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private long count(String name) {
    return registry.counter(name).sum();
  }

  @Test
  void aPositiveAnswerIsServedWithTheQueryIdItsCaseAndAgedTtlsUntilItsLeastTtl() {
    String first = query(0x1111, "www.example.com", 1, OPT);
    String upstream = response(first, "8180", List.of(a(300, "5db8d822"), a(60, "5db8d823")), List.of(), OPT);
    assertThat(ask(first, upstream)).as("a miss").isNull();
    advanceMillis(10_500);
    String again = query(0x2222, "WWW.Example.COM", 1, OPT);
    String hit = ask(again, null);
    assertThat(hit).as("the query's ID, its question as asked, TTLs less 10 s, the rest as the upstream said it")
        .isEqualTo(response(again, "8180", List.of(a(290, "5db8d822"), a(50, "5db8d823")), List.of(), OWN_OPT));
    advanceMillis(49_400);
    assertThat(ask(again, null)).as("59.9 s: still kept").isNotNull();
    advanceMillis(100);
    assertThat(ask(again, null)).as("60 s, the least TTL: expired").isNull();
    assertThat(count("dns.cache_hit")).isEqualTo(2);
    assertThat(count("dns.cache_miss")).isEqualTo(2);
    assertThat(registry.gauge("dns.cache_entries").get()).isZero();
  }

  @Test
  void aLongTtlIsCappedAndAZeroTtlIsNotKept() {
    String q = query(1, "long.example.com", 1, NO_OPT);
    ask(q, response(q, "8180", List.of(a(86_400, "0a000001")), List.of(), NO_OPT));
    advanceMillis(299_000);
    assertThat(ask(q, null)).endsWith(String.format("%08x", 86_400 - 299) + "00040a000001");
    advanceMillis(1_000);
    assertThat(ask(q, null)).as("the 300 s cap").isNull();
    String zero = query(2, "zero.example.com", 1, NO_OPT);
    ask(zero, response(zero, "8180", List.of(a(0, "0a000001")), List.of(), NO_OPT));
    assertThat(ask(zero, null)).isNull();
    assertThat(cache.size()).isZero();
  }

  @Test
  void nxdomainAndNodataAreKeptForTheSoaNegativeTtlAndNotWithoutAnSoa() {
    String nx = query(1, "nosuch.example.com", 1, NO_OPT);
    ask(nx, response(nx, "8183", List.of(), List.of(soa(3600, 5)), NO_OPT));
    advanceMillis(4_000);
    assertThat(ask(nx, null)).as("NXDOMAIN, the SOA's TTL aged").startsWith("00018183")
        .contains("0006" + "0001" + String.format("%08x", 3600 - 4));
    advanceMillis(1_000);
    assertThat(ask(nx, null)).as("min(SOA TTL 3600, MINIMUM 5) = 5 s").isNull();

    String nodata = query(2, "v4only.example.com", 28, NO_OPT);
    ask(nodata, response(nodata, "8180", List.of(), List.of(soa(2, 900)), NO_OPT));
    advanceMillis(1_900);
    assertThat(ask(nodata, null)).as("NODATA kept for min(SOA TTL 2, MINIMUM 900)").startsWith("0002818000010000");
    advanceMillis(100);
    assertThat(ask(nodata, null)).isNull();

    String capped = query(3, "gone.example.com", 1, NO_OPT);
    ask(capped, response(capped, "8183", List.of(), List.of(soa(86_400, 86_400)), NO_OPT));
    advanceMillis(60_000);
    assertThat(ask(capped, null)).as("the 60 s negative cap").isNull();

    String noSoa = query(4, "nosoa.example.com", 1, NO_OPT);
    ask(noSoa, response(noSoa, "8183", List.of(), List.of(), NO_OPT));
    assertThat(ask(noSoa, null)).as("RFC 2308 5: no SOA, not cached").isNull();
  }

  @Test
  void truncatedFailedAndMismatchedAnswersAreNeverKept() {
    String q = query(1, "www.example.com", 1, NO_OPT);
    ask(q, response(q, "8380", List.of(), List.of(), NO_OPT)); // TC
    ask(q, response(q, "8182", List.of(), List.of(soa(60, 60)), NO_OPT)); // SERVFAIL
    ask(q, response(query(1, "evil.example.com", 1, NO_OPT), "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    ask(q, response(query(1, "www.example.com", 28, NO_OPT), "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    ask(q, response(q, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT).substring(0, 80)); // cut short
    assertThat(cache.size()).isZero();
  }

  @Test
  void theKeyHoldsTypeRecursionDnssecBitsAndEdns() {
    String plain = query(1, "www.example.com", 1, NO_OPT);
    ask(plain, response(plain, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    assertThat(ask(plain, null)).isNotNull();
    assertThat(ask(query(2, "www.example.com", 1, OPT), null)).as("with EDNS: its answer has an OPT").isNull();
    String withDo = query(3, "www.example.com", 1, OPT_DO);
    assertThat(ask(withDo, response(withDo, "8180", List.of(a(300, "01020304")), List.of(), OPT_DO))).isNull();
    assertThat(ask(query(4, "www.example.com", 1, OPT), null)).as("DO clear: another key").isNull();
    assertThat(ask(query(5, "www.example.com", 1, OPT_DO), null)).isNotNull();
    assertThat(ask(query(6, "www.example.com", 28, NO_OPT), null)).as("AAAA: another key").isNull();
    String noRecursion = query(7, "www.example.com", 1, NO_OPT);
    assertThat(ask("0007" + "0000" + noRecursion.substring(8), null)).as("RD clear: another key").isNull();
    assertThat(ask("0008" + "0120" + noRecursion.substring(8), null)).as("AD set: another key").isNull();
    assertThat(ask(query(9, "WWW.example.COM", 1, NO_OPT), null)).as("the name in any case: the same key").isNotNull();
  }

  /** {@code n} A records, TTL 300, 10.0.0.0 on. */
  private static List<String> addresses(int n) {
    List<String> answers = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      answers.add(a(300, String.format("0a0000%02x", i)));
    }
    return answers;
  }

  @Test
  void anAnswerLargerThanTheClientTakesIsAMiss() {
    String q = query(1, "big.example.com", 1, OPT);
    List<String> answers = addresses(40);
    ask(q, response(q, "8180", answers, List.of(), OPT));
    assertThat(ask(q, null, 512)).as("673 bytes for a client that takes 512").isNull();
    assertThat(ask(q, null, 65_535)).as("over TCP").isNotNull();
  }

  @Test
  void theLeastRecentlyUsedAnswerIsEvictedBeyondTheBound() {
    cache = new DnsCache(2, 300, 60, () -> now, stats);
    List<String> names = List.of("a.example.com", "b.example.com", "c.example.com");
    for (int i = 0; i < 2; i++) {
      String q = query(i, names.get(i), 1, NO_OPT);
      ask(q, response(q, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    }
    assertThat(ask(query(9, "a.example.com", 1, NO_OPT), null)).isNotNull(); // a is now the most recently used
    String c = query(2, names.get(2), 1, NO_OPT);
    ask(c, response(c, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    assertThat(cache.size()).isEqualTo(2);
    assertThat(count("dns.cache_evicted")).isEqualTo(1);
    assertThat(ask(query(9, "b.example.com", 1, NO_OPT), null)).isNull();
    assertThat(ask(query(9, "a.example.com", 1, NO_OPT), null)).isNotNull();
    assertThat(ask(query(9, "c.example.com", 1, NO_OPT), null)).isNotNull();
  }

  @Test
  void anAnswerWhoseQuestionCaseDiffersFromTheForwardedOneIsNotKept() {
    String q = query(1, "WwW.example.com", 1, NO_OPT);
    String lowered = query(1, "www.example.com", 1, NO_OPT);
    ask(q, response(lowered, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    assertThat(cache.size()).as("the 0x20 case was not echoed: not the answer to what was forwarded").isZero();
    ask(q, response(q, "8180", List.of(a(300, "01020304")), List.of(), NO_OPT));
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void theUpstreamsEdnsOptionsAreNotReplayedFromTheCache() {
    String cookie = "000a0018" + "0102030405060708" + "1112131415161718191a1b1c1d1e1f20";
    String upstreamOpt = "0000291000" + "00008000" + String.format("%04x", cookie.length() / 2) + cookie;
    String q = query(1, "www.example.com", 1, OPT_DO);
    ask(q, response(q, "8180", List.of(a(300, "01020304")), List.of(), upstreamOpt));
    assertThat(ask(query(2, "www.example.com", 1, OPT_DO), null)).as("the proxy's OPT: 1232, DO kept, no cookie")
        .endsWith(a(300, "01020304") + "00002904d0" + "00008000" + "0000");
  }

  @Test
  void anAnswerToAQueryWithAClientSubnetIsNotKept() {
    String ecs = "00080007" + "0001" + "18" + "00" + "0a0000"; // 10.0.0.0/24
    String opt = "0000291000" + "00000000" + String.format("%04x", ecs.length() / 2) + ecs;
    String q = query(1, "www.example.com", 1, opt);
    ask(q, response(q, "8180", List.of(a(300, "01020304")), List.of(), opt));
    assertThat(cache.size()).isZero();
    assertThat(ask(q, null)).isNull();
  }

  @Test
  void anAnswerOverTheUdpPayloadSizeIsKeptOnlyForATcpQuery() {
    String q = query(1, "big.example.com", 1, OPT);
    List<String> answers = addresses(80);
    String big = response(q, "8180", answers, List.of(), OPT);
    ask(q, big, Edns.PAYLOAD_SIZE);
    assertThat(cache.size()).as("1,300 bytes: never served to a UDP client").isZero();
    ask(q, big, 65_535);
    assertThat(cache.size()).as("over TCP").isEqualTo(1);
  }
}
