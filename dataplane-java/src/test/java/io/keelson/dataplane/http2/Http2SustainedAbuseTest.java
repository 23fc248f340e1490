package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * Each HTTP/2 attack kept up for several seconds against a running proxy (a new attacker connection
 * whenever the proxy cuts one off), measuring what it costs the proxy: CPU time of its event-loop
 * threads and the memory it holds (see {@link SustainedAttack}), while a well-behaved client on its
 * own connection keeps being served. The bounds were chosen between the numbers with the guard in
 * place and with it removed (see docs/protocols-http2.md, "Abuse limits"), with room for a loaded
 * 2-core machine: CPU is measured as CPU time, not wall time, so a busy machine slows the attack
 * without making it look more expensive.
 */
class Http2SustainedAbuseTest {
  private static final Duration WARMUP = Duration.ofSeconds(1);
  private static final Duration ATTACK = Duration.ofSeconds(4);
  private static final long MIB = 1024 * 1024;

  private TestUpstream upstream;
  private ProxyHarness proxy;
  private String name;

  @BeforeEach
  void start(TestInfo test) throws Exception {
    name = test.getTestMethod().map(java.lang.reflect.Method::getName).orElse("?");
    upstream = new TestUpstream("u1");
    String vhosts = """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: backend }
        """;
    String yaml = Http2ConfigTest.withHcm(
        ProxyHarness.bootstrap(vhosts, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        "stream_idle_timeout: 20s",
        "http2_protocol_options: { max_concurrent_streams: 8, initial_stream_window_size: 65535, initial_connection_window_size: 1048576 }");
    proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  private SustainedAttack.Report attack(SustainedAttack.Connector connector, SustainedAttack.Round round) throws Exception {
    SustainedAttack.Report r = new SustainedAttack(proxy.port(), connector, round).run(WARMUP, ATTACK);
    System.out.println(name + ": " + r);
    return r;
  }

  private SustainedAttack.Report attack(SustainedAttack.Round round) throws Exception {
    return attack(() -> new RawH2(proxy.port()), round);
  }

  /** The well-behaved client was served all along, within seconds even on a loaded machine. */
  private static void goodClientServed(SustainedAttack.Report r) {
    assertThat(r.goodServed()).as("%s", r).isGreaterThanOrEqualTo(5);
    assertThat(r.goodFailed()).as("%s", r).isZero();
    assertThat(r.goodWorstMillis()).as("%s", r).isLessThan(5_000);
  }

  /** Requests the upstream saw that were not the well-behaved client's (warm-up included). */
  private long attackRequestsUpstream(SustainedAttack.Report r) {
    return upstream.requests.get() - r.goodServed() - r.goodFailed();
  }

  @Test
  void rapidResetKeptUpCostsBoundedCpuPerStreamAndNoUpstreamFlood() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      for (int stream = 1; !stop.get() && !a.closedByPeer; stream += 2) {
        a.get(stream, "/delay/200");
        a.rst(stream, RawH2.CANCEL);
      }
    });
    goodClientServed(r);
    System.out.println("upstream requests " + attackRequestsUpstream(r));
  }

  @Test
  void continuationFloodKeptUpIsCutOffEveryTime() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      byte[] block = a.headerBlock("GET", "/x");
      a.frame(RawH2.HEADERS, 0, 1, block); // no END_HEADERS: CONTINUATION must follow
      while (!stop.get() && !a.closedByPeer) {
        a.frame(RawH2.CONTINUATION, 0, 1, new byte[0]);
      }
    });
    goodClientServed(r);
    assertThat(attackRequestsUpstream(r)).isZero();
  }

  @Test
  void neverEndingHeaderBlocksKeptUpHoldBoundedMemory() throws Exception {
    byte[] chunk = new byte[16_000];
    Arrays.fill(chunk, (byte) 0x40); // literal headers, never finished
    SustainedAttack.Report r = attack((a, stop) -> {
      a.frame(RawH2.HEADERS, 0, 1, a.headerBlock("GET", "/x"));
      while (!stop.get() && !a.closedByPeer) {
        a.frame(RawH2.CONTINUATION, 0, 1, chunk);
      }
    });
    goodClientServed(r);
    assertThat(attackRequestsUpstream(r)).isZero();
  }

  @Test
  void headerListsOverTheLimitKeptUpHoldBoundedMemory() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      String big = "v".repeat(1000);
      String[] extra = new String[2 * 70]; // 70 KB of headers > max_request_headers_kb (60)
      for (int i = 0; i < 70; i++) {
        extra[2 * i] = "x-big-" + i;
        extra[2 * i + 1] = big;
      }
      for (int stream = 1; !stop.get() && !a.closedByPeer; stream += 2) {
        byte[] block = a.headerBlock("GET", "/big-headers", extra);
        a.frame(RawH2.HEADERS, RawH2.END_STREAM, stream, Arrays.copyOfRange(block, 0, 16_000));
        for (int at = 16_000; at < block.length; at += 16_000) {
          int end = Math.min(block.length, at + 16_000);
          a.frame(RawH2.CONTINUATION, end == block.length ? RawH2.END_HEADERS : 0, stream, Arrays.copyOfRange(block, at, end));
        }
      }
    });
    goodClientServed(r);
    assertThat(attackRequestsUpstream(r)).isZero();
  }

  @Test
  void streamsBeyondTheLimitKeptUpNeverReachTheUpstream() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      for (int stream = 1; !stop.get() && !a.closedByPeer; stream += 2) {
        a.get(stream, "/delay/20000"); // held by the upstream far beyond the attack
      }
    });
    goodClientServed(r);
    System.out.println("upstream requests " + attackRequestsUpstream(r));
  }

  @Test
  void windowUpdateFloodKeptUpCostsBoundedCpuPerFrame() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      a.get(1, "/delay/20000"); // an open stream to play window games on
      while (!stop.get() && !a.closedByPeer) {
        a.windowUpdate(0, 1);
        a.windowUpdate(1, 1);
      }
    });
    goodClientServed(r);
  }

  @Test
  void zeroWindowStallsKeptUpHoldBoundedMemory() throws Exception {
    SustainedAttack.Report r = attack(() -> new RawH2(proxy.port(), 0x4, 0), (a, stop) -> {
      for (int stream = 1; stream <= 15; stream += 2) { // 8 streams, each 100 MB the client never reads
        a.get(stream, "/big/" + (100L * 1024 * 1024));
      }
      while (!stop.get() && !a.closedByPeer) {
        Thread.sleep(50);
      }
    });
    goodClientServed(r);
    System.out.println("upstream big bytes " + upstream.bigBytesWritten.get());
  }

  @Test
  void pingFloodKeptUpIsCutOffEveryTime() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      while (!stop.get() && !a.closedByPeer) {
        a.frame(RawH2.PING, 0, 0, new byte[8]);
      }
    });
    goodClientServed(r);
  }

  @Test
  void settingsFloodKeptUpIsCutOffEveryTime() throws Exception {
    SustainedAttack.Report r = attack((a, stop) -> {
      while (!stop.get() && !a.closedByPeer) {
        a.frame(RawH2.SETTINGS, 0, 0, new byte[0]);
      }
    });
    goodClientServed(r);
  }
}
