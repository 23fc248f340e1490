package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DnsServer} over real sockets on 127.0.0.1: mesh names answered over UDP and TCP from the current table, other
 * names forwarded to a fake upstream resolver (a UDP socket here) with the app's ID restored, SERVFAIL when it does not
 * answer in time, junk counted without the server stopping.
 */
class DnsServerTest extends DnsServerFixture {
  private static final HexFormat HEX = HexFormat.of();
  /** example.com A, ID 0x1234. */
  private static final String EXAMPLE_A = "123401000001000000000000076578616d706c6503636f6d0000010001";

  private final AtomicReference<NameTable> table = new AtomicReference<>(DnsAnswererTest.table());
  private final ConcurrentLinkedQueue<String> upstreamSaw = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean upstreamAnswers = new AtomicBoolean(true);
  /** The upstream answers with the question's name lower-cased (as a spoofer that guessed the name would). */
  private final AtomicBoolean lowerCaseUpstream = new AtomicBoolean();
  /** Where the DNS proxy's forwarded queries come from (its upstream socket). */
  private final AtomicReference<java.net.SocketAddress> forwarderAddress = new AtomicReference<>();

  @BeforeEach
  void start() throws Exception {
    upstream = new InTestResolver(this::answerUpstream);
    DnsConfig config = new DnsConfig("127.0.0.1", 0, List.of(upstream.address()),
        List.of("svc.cluster.local"), Duration.ofMillis(400), 4, 8);
    server = DnsServer.start(config, table::get, stats);
    app = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
    app.setSoTimeout(3000);
  }

  /** The fake resolver: answers example.com with 93.184.216.34 (a canned answer, never a real lookup). */
  private String answerUpstream(String q, java.net.SocketAddress from) {
    forwarderAddress.set(from);
    upstreamSaw.add(q);
    if (!upstreamAnswers.get()) {
      return null;
    }
    if (lowerCaseUpstream.get()) {
      q = q.substring(0, 24) + HEX.formatHex(new String(HEX.parseHex(q.substring(24)),
          java.nio.charset.StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT)
          .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }
    return q.substring(0, 4) + "8180" + "0001" + "0001" + "0000" + "0000" + q.substring(24) + "c00c000100010000012c00045db8d822";
  }

  @Test
  void answersMeshNamesOverUdpFromTheCurrentTable() throws Exception {
    assertThat(udp(DnsAnswererTest.REVIEWS_A)).startsWith("beef8580").endsWith("0004f0f00307");
    // A new table (a new snapshot from the control plane) answers the next query.
    table.set(NameTable.of(Map.of("reviews", List.of(InetAddress.getByName("240.240.8.8"))), List.of()));
    assertThat(udp(DnsAnswererTest.REVIEWS_A)).endsWith("0004f0f00808");
    assertThat(count("dns.answered")).isEqualTo(2);
    assertThat(count("dns.queries_udp")).isEqualTo(2);
    assertThat(upstreamSaw).as("mesh names never go upstream").isEmpty();
  }

  @Test
  void eachForwardedQueryGetsAFullRandomSixteenBitId() throws Exception {
    for (int i = 0; i < 40; i++) { // names of their own: no answer from the cache
      assertThat(udp(DnsCacheTest.query(0x1234, "n" + i + ".example.com", 1, ""))).startsWith("12348180");
    }
    java.util.Set<String> ids = new java.util.HashSet<>();
    upstreamSaw.forEach(q -> ids.add(q.substring(0, 4)));
    assertThat(ids).as("not 4 random bits over a reused slot").hasSizeGreaterThan(30);
  }

  @Test
  void anUpstreamAnswerWhoseQuestionCaseDiffersIsNotTaken() throws Exception {
    lowerCaseUpstream.set(true);
    String q = DnsCacheTest.query(0x4242, "ExAmPlE.com", 1, "");
    assertThat(udp(q)).as("SERVFAIL once the upstream's time is up").startsWith("42428182");
    assertThat(count("dns.upstream_unexpected")).isEqualTo(1);
    assertThat(count("dns.upstream_responses")).isZero();
  }

  @Test
  void forwardsOtherNamesUpstreamUnderAnIdOfItsOwnAndRestoresTheAppsId() throws Exception {
    String answer = udp(EXAMPLE_A);
    assertThat(answer).startsWith("12348180").endsWith("5db8d822");
    assertThat(upstreamSaw).hasSize(1);
    String sent = upstreamSaw.peek();
    assertThat(sent.substring(4)).as("the query itself, unchanged").isEqualTo(EXAMPLE_A.substring(4));
    assertThat(count("dns.forwarded")).isEqualTo(1);
    assertThat(count("dns.upstream_responses")).isEqualTo(1);
  }

  @Test
  void anUpstreamThatDoesNotAnswerInTimeGivesServfailAndALateOrForgedAnswerIsIgnored() throws Exception {
    upstreamAnswers.set(false);
    long start = System.nanoTime();
    assertThat(udp(EXAMPLE_A)).as("SERVFAIL, the question echoed")
        .isEqualTo("12348182000100000000000007" + "6578616d706c6503636f6d0000010001");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(350));
    assertThat(count("dns.upstream_timeouts")).isEqualTo(1);
    // An answer for the expired query, from the upstream's address, and one from another address: neither is taken.
    byte[] late = HEX.parseHex(upstreamSaw.peek().substring(0, 4) + "81800001000000000000" + EXAMPLE_A.substring(24));
    upstream.send(HEX.formatHex(late), forwarderAddress.get());
    try (DatagramSocket forger = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
      forger.send(new DatagramPacket(late, late.length, forwarderAddress.get()));
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
        .until(() -> count("dns.upstream_unexpected") == 2);
    app.setSoTimeout(300);
    byte[] buf = new byte[512];
    try {
      app.receive(new DatagramPacket(buf, buf.length));
      throw new AssertionError("nothing more should reach the app");
    } catch (SocketTimeoutException expected) {
      // nothing
    }
  }

  @Test
  void tcpQueriesAreAnsweredAndForwardedWithTheLengthPrefix() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(server.tcpAddress(), 2000);
      s.setSoTimeout(3000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      DataInputStream in = new DataInputStream(s.getInputStream());
      for (String q : List.of(DnsAnswererTest.REVIEWS_A, EXAMPLE_A)) {
        byte[] bytes = HEX.parseHex(q);
        out.writeShort(bytes.length);
        out.write(bytes);
      }
      out.flush();
      byte[] first = new byte[in.readUnsignedShort()];
      in.readFully(first);
      assertThat(HEX.formatHex(first)).startsWith("beef8580").endsWith("f0f00307");
      byte[] second = new byte[in.readUnsignedShort()];
      in.readFully(second);
      assertThat(HEX.formatHex(second)).startsWith("12348180").endsWith("5db8d822");
    }
    assertThat(count("dns.queries_tcp")).isEqualTo(2);
  }

  @Test
  void junkIsCountedAndTheServerKeepsServing() throws Exception {
    byte[] shortOne = HEX.parseHex("beef01");
    app.send(new DatagramPacket(shortOne, shortOne.length, server.udpAddress()));
    assertThat(udp("beef0100000200000000000007726576696577730000010001")).as("FORMERR").isEqualTo("beef8101"
        + "0000000000000000");
    java.util.Random random = new java.util.Random(42);
    for (int i = 0; i < 200; i++) {
      byte[] junk = new byte[random.nextInt(64)];
      random.nextBytes(junk);
      app.send(new DatagramPacket(junk, junk.length, server.udpAddress()));
    }
    // A TCP frame of garbage: the connection is closed (the server keeps answering others, below).
    try (Socket s = new Socket()) {
      s.connect(server.tcpAddress(), 2000);
      s.setSoTimeout(3000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeShort(5);
      out.write(new byte[] {1, 2, 3, 4, 5});
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      assertThat(in.read()).as("a frame too short for a header: the connection is closed").isEqualTo(-1);
    }
    app.setSoTimeout(3000);
    // Drain whatever the junk earned (FORMERR or forwarded answers), then a good query is still answered.
    String reply;
    do {
      reply = udp(DnsAnswererTest.REVIEWS_A);
    } while (!reply.startsWith("beef8580"));
    assertThat(count("dns.dropped")).isPositive();
    assertThat(count("dns.formerr")).isPositive();
  }

  @Test
  void whenTheFirstUpstreamIsSilentTheNextIsAskedWithinTheTimeout() throws Exception {
    server.close();
    try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
      DnsConfig config = new DnsConfig("127.0.0.1", 0, List.of((InetSocketAddress) silent.getLocalSocketAddress(),
          upstream.address()), List.of(), Duration.ofMillis(800), 4, 8);
      server = DnsServer.start(config, table::get, stats);
      assertThat(udp(EXAMPLE_A)).startsWith("12348180").endsWith("5db8d822");
      byte[] buf = new byte[512];
      DatagramPacket first = new DatagramPacket(buf, buf.length);
      silent.setSoTimeout(1000);
      silent.receive(first);
      assertThat(HEX.formatHex(buf, 2, first.getLength())).as("the first upstream was asked first")
          .isEqualTo(EXAMPLE_A.substring(4));
      assertThat(count("dns.upstream_timeouts")).isEqualTo(1);
      assertThat(count("dns.servfail")).isZero();
    }
  }

  @Test
  void aFullForwardingTableAnswersServfailAtOnce() throws Exception {
    upstreamAnswers.set(false);
    for (int i = 0; i < 4; i++) { // maxPending 4
      byte[] q = HEX.parseHex(String.format("%04x", i) + EXAMPLE_A.substring(4));
      app.send(new DatagramPacket(q, q.length, server.udpAddress()));
    }
    long start = System.nanoTime();
    assertThat(udp("aaaa" + EXAMPLE_A.substring(4))).startsWith("aaaa8182");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("at once, not after the timeout")
        .isLessThan(Duration.ofMillis(300));
    assertThat(count("dns.overflow")).isEqualTo(1);
  }
}
