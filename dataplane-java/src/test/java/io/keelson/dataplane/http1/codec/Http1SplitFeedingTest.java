package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Property-style: however the bytes are split across feed() calls (one buffer, byte at a time,
 * random split points with a fixed seed), the parser delivers the same heads, bodies, trailers and
 * errors.
 */
@ExtendWith(LeakDetection.class)
class Http1SplitFeedingTest {
  private static final String PIPELINED_REQUESTS =
      "\r\nGET /a?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n"
      + "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 26\r\nContent-Type: text/plain\r\n\r\n"
      + "abcdefghijklmnopqrstuvwxyz"
      + "PUT /c HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
      + "1a;ext=\"v\"\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n3\r\n123\r\n0\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n"
      + "GET /ws HTTP/1.0\r\nConnection: keep-alive\r\nX-Obs: caf\u00e9\r\n\r\n";

  private static final String PIPELINED_RESPONSES =
      "HTTP/1.1 100 Continue\r\n\r\n"
      + "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"
      + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nGrpc-Status: 0\r\n\r\n"
      + "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n"
      + "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop";

  private static final String[] BAD_REQUESTS = {
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET  / HTTP/1.1\r\nHost: a\r\n\r\n",
  };

  @Test
  void requestsSplitAnywhereGiveTheSameResult() {
    byte[] wire = PIPELINED_REQUESTS.getBytes(StandardCharsets.ISO_8859_1);
    String expected = run(Recorder::requestParser, wire, new int[] {wire.length});
    assertThat(expected).contains("/a", "/upload", "abcdefghijklmnopqrstuvwxyz", "X-Trailer: t1", "caf\u00e9", "complete");
    assertThat(expected).doesNotContain("error");
    assertSplitsAgree(Recorder::requestParser, wire, expected);
  }

  @Test
  void responsesSplitAnywhereGiveTheSameResult() {
    byte[] wire = PIPELINED_RESPONSES.getBytes(StandardCharsets.ISO_8859_1);
    String expected = run(Recorder::responseParser, wire, new int[] {wire.length});
    assertThat(expected).contains("100", "hello world", "Grpc-Status: 0", "204", "nop");
    assertSplitsAgree(Recorder::responseParser, wire, expected);
  }

  @Test
  void rejectionsDoNotDependOnSplitPoints() {
    for (String bad : BAD_REQUESTS) {
      byte[] wire = bad.getBytes(StandardCharsets.ISO_8859_1);
      String expected = run(Recorder::requestParser, wire, new int[] {wire.length});
      assertThat(expected).as(bad).contains("error");
      assertSplitsAgree(Recorder::requestParser, wire, expected);
    }
  }

  private static <H> void assertSplitsAgree(Supplier<Recorder<H>> factory, byte[] wire, String expected) {
    int[] ones = new int[wire.length];
    java.util.Arrays.fill(ones, 1);
    assertThat(run(factory, wire, ones)).as("byte at a time").isEqualTo(expected);
    Random random = new Random(20261122L);
    for (int round = 0; round < 200; round++) {
      List<Integer> sizes = new ArrayList<>();
      for (int left = wire.length; left > 0; ) {
        int n = 1 + random.nextInt(Math.min(left, round % 2 == 0 ? 8 : 64));
        sizes.add(n);
        left -= n;
      }
      int[] split = sizes.stream().mapToInt(Integer::intValue).toArray();
      assertThat(run(factory, wire, split)).as("split %s", sizes).isEqualTo(expected);
    }
  }

  /** Feeds the wire in the given pieces, resuming after each message, and describes what came out. */
  private static <H> String run(Supplier<Recorder<H>> factory, byte[] wire, int[] split) {
    Recorder<H> r = factory.get();
    r.resumeOnComplete = true;
    r.feedSplit(wire, split);
    String result = r.events + "\n" + r.heads + "\n" + r.bodies + "\n" + r.trailers + "\n"
        + (r.error == null ? "" : r.error.status() + " " + r.error.reason()) + "\n" + r.pendingBody();
    r.assertAllReleased();
    return result;
  }
}
