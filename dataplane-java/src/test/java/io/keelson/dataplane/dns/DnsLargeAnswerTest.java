package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.stats.StatsRegistry;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Answers larger than NIO's 2048-byte datagram buffer, through {@link DnsServer} over real sockets on 127.0.0.1, with
 * an in-test upstream resolver on UDP and TCP (one port): a big UDP answer reaches a UDP client whole, and a TCP
 * client whose query the upstream truncates over UDP gets the whole answer, asked again over TCP; a TCP upstream that
 * never answers is given up within the timeout (SERVFAIL, its connection closed).
 */
class DnsLargeAnswerTest {
  private static final HexFormat HEX = HexFormat.of();
  /** big.example.com A with an EDNS OPT record offering 4096 bytes, ID 0x4242. */
  private static final String BIG_A = "424201000001000000000001" + "03626967076578616d706c6503636f6d0000010001"
      + "0000291000000000000000";
  /** A records in the big answer: 200 × 16 bytes, over 3 KB. */
  private static final int RECORDS = 200;

  private final StatsRegistry stats = new StatsRegistry();
  private final AtomicBoolean truncateUdp = new AtomicBoolean();
  /** The resolver's TCP side reads a query and never answers. */
  private final AtomicBoolean tcpSilent = new AtomicBoolean();
  /** A silent TCP connection was closed by the proxy (its read saw the end). */
  private final AtomicBoolean silentClosedByProxy = new AtomicBoolean();
  private final AtomicInteger udpQueries = new AtomicInteger();
  private final AtomicInteger tcpQueries = new AtomicInteger();
  private DatagramSocket upstreamUdp;
  private ServerSocket upstreamTcp;
  private Thread udpThread;
  private Thread tcpThread;
  private DnsServer server;

  @BeforeEach
  void start() throws Exception {
    for (int attempt = 0; upstreamTcp == null; attempt++) { // a UDP and a TCP socket on one port, as a resolver has
      upstreamUdp = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
      try {
        upstreamTcp = new ServerSocket(upstreamUdp.getLocalPort(), 16, java.net.InetAddress.getByName("127.0.0.1"));
      } catch (java.net.BindException e) {
        upstreamUdp.close();
        if (attempt == 10) {
          throw e;
        }
      }
    }
    udpThread = Thread.ofVirtual().start(this::serveUdp);
    tcpThread = Thread.ofVirtual().start(this::serveTcp);
    DnsConfig config = new DnsConfig("127.0.0.1", 0, List.of((InetSocketAddress) upstreamUdp.getLocalSocketAddress()),
        List.of("svc.cluster.local"), Duration.ofSeconds(2), 4, 8)
        .withCache(0, Duration.ZERO, Duration.ZERO); // every query reaches the resolver: the forwarding path is tested
    server = DnsServer.start(config, DnsAnswererTest::table, stats);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    upstreamUdp.close();
    upstreamTcp.close();
    udpThread.join(2000);
    tcpThread.join(2000);
  }

  /** The upstream's whole answer to {@code query}: its ID and question, {@link #RECORDS} A records (10.0.i/256.i%256). */
  static byte[] bigAnswer(byte[] query) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(query, 0, 2);
    b.writeBytes(HEX.parseHex("8180" + "0001" + String.format("%04x", RECORDS) + "00000000"));
    b.write(query, 12, questionEnd(query) - 12);
    for (int i = 0; i < RECORDS; i++) {
      b.writeBytes(HEX.parseHex("c00c00010001" + "0000012c" + "0004" + String.format("0a00%02x%02x", i / 256, i % 256)));
    }
    return b.toByteArray();
  }

  /** The truncated answer a resolver sends over UDP when the whole one does not fit: TC set, no records. */
  private static byte[] truncatedAnswer(byte[] query) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(query, 0, 2);
    b.writeBytes(HEX.parseHex("8380" + "0001" + "0000" + "00000000"));
    b.write(query, 12, questionEnd(query) - 12);
    return b.toByteArray();
  }

  private static int questionEnd(byte[] q) {
    int at = 12;
    while (q[at] != 0) {
      at += q[at] + 1;
    }
    return at + 5;
  }

  private void serveUdp() {
    byte[] buf = new byte[512];
    while (!upstreamUdp.isClosed()) {
      try {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        upstreamUdp.receive(p);
        udpQueries.incrementAndGet();
        byte[] q = Arrays.copyOf(p.getData(), p.getLength());
        byte[] a = truncateUdp.get() ? truncatedAnswer(q) : bigAnswer(q);
        upstreamUdp.send(new DatagramPacket(a, a.length, p.getSocketAddress()));
      } catch (java.io.IOException e) {
        return;
      }
    }
  }

  private void serveTcp() {
    while (!upstreamTcp.isClosed()) {
      try (Socket s = upstreamTcp.accept()) {
        s.setSoTimeout(3000);
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] q = new byte[in.readUnsignedShort()];
        in.readFully(q);
        tcpQueries.incrementAndGet();
        if (tcpSilent.get()) {
          s.setSoTimeout(10_000);
          silentClosedByProxy.set(in.read() < 0);
          continue;
        }
        byte[] a = bigAnswer(q);
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeShort(a.length);
        out.write(a);
        out.flush();
      } catch (java.io.IOException e) {
        if (upstreamTcp.isClosed()) {
          return;
        }
      }
    }
  }

  private byte[] udp(byte[] q) throws Exception {
    try (DatagramSocket app = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
      app.setSoTimeout(3000);
      app.send(new DatagramPacket(q, q.length, server.udpAddress()));
      DatagramPacket r = new DatagramPacket(new byte[65535], 65535);
      app.receive(r);
      return Arrays.copyOf(r.getData(), r.getLength());
    }
  }

  @Test
  void anAnswerLargerThan2048BytesReachesAUdpClientWhole() throws Exception {
    byte[] q = HEX.parseHex(BIG_A);
    byte[] expected = bigAnswer(q);
    assertThat(expected.length).isGreaterThan(3000);
    byte[] answer = udp(q);
    assertThat(answer).hasSize(expected.length).isEqualTo(expected);
    assertThat(stats.counter("dns.upstream_responses").sum()).isEqualTo(1);
    assertThat(tcpQueries).hasValue(0);
  }

  @Test
  void aTcpClientGetsTheWholeAnswerAskedOverTcpWhenTheUdpOneIsTruncated() throws Exception {
    truncateUdp.set(true);
    byte[] q = HEX.parseHex(BIG_A);
    byte[] udpAnswer = udp(q);
    assertThat(udpAnswer).as("a UDP client gets the truncated answer and retries over TCP itself")
        .isEqualTo(truncatedAnswer(q));
    assertThat(tcpQueries).hasValue(0);
    try (Socket s = new Socket()) {
      s.connect(server.tcpAddress(), 2000);
      s.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      DataInputStream in = new DataInputStream(s.getInputStream());
      for (int i = 0; i < 2; i++) { // two in a row on one connection
        out.writeShort(q.length);
        out.write(q);
        out.flush();
        byte[] answer = new byte[in.readUnsignedShort()];
        in.readFully(answer);
        assertThat(answer).as("the whole answer, the app's ID restored").isEqualTo(bigAnswer(q));
      }
    }
    assertThat(tcpQueries).as("asked again over TCP").hasValue(2);
    assertThat(stats.counter("dns.upstream_tcp").sum()).isEqualTo(2);
    assertThat(stats.counter("dns.servfail").sum()).isZero();
  }

  @Test
  void aSilentTcpUpstreamIsGivenUpWithinTheTimeoutAndItsConnectionClosed() throws Exception {
    truncateUdp.set(true);
    tcpSilent.set(true);
    byte[] q = HEX.parseHex(BIG_A);
    long start = System.nanoTime();
    try (Socket s = new Socket()) {
      s.connect(server.tcpAddress(), 2000);
      s.setSoTimeout(5000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      DataInputStream in = new DataInputStream(s.getInputStream());
      out.writeShort(q.length);
      out.write(q);
      out.flush();
      byte[] answer = new byte[in.readUnsignedShort()];
      in.readFully(answer);
      assertThat(HEX.formatHex(answer)).as("SERVFAIL, the question echoed").startsWith("42428182");
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the 2 s timeout, not longer")
        .isBetween(Duration.ofMillis(1_500), Duration.ofMillis(4_000));
    assertThat(stats.counter("dns.upstream_timeouts").sum()).isEqualTo(1);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilTrue(silentClosedByProxy);
  }
}
