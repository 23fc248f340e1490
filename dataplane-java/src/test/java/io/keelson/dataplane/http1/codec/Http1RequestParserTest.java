package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.HttpLimits;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What the request parser delivers for valid input: heads, framing, bodies, pipelining, pausing. */
@ExtendWith(LeakDetection.class)
class Http1RequestParserTest {

  @Test
  void parsesASimpleGet() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET /api/v1/items?limit=10&x=y HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.5\r\n"
        + "Accept: */*\r\nX-Multi: a\r\nx-multi: b\r\n\r\n");
    assertThat(r.events).containsExactly("head", "complete");
    Http1Request h = r.heads.getFirst();
    assertThat(h.method()).isEqualTo("GET");
    assertThat(h.uri()).isEqualTo("/api/v1/items?limit=10&x=y");
    assertThat(h.path()).isEqualTo("/api/v1/items");
    assertThat(h.query()).isEqualTo("limit=10&x=y");
    assertThat(h.version()).isEqualTo(Http1Version.HTTP_1_1);
    assertThat(h.authority()).isEqualTo("example.com:8080");
    assertThat(h.header("user-agent")).isEqualTo("curl/8.5");
    assertThat(h.header("x-multi")).isEqualTo("a,b");
    assertThat(h.header("absent")).isNull();
    assertThat(h.headers().size()).isEqualTo(5);
    assertThat(h.headers().name(4)).isEqualTo("x-multi");
    assertThat(h.contentLength()).isZero();
    assertThat(h.chunked()).isFalse();
    assertThat(h.keepAlive()).isTrue();
    assertThat(h.expectContinue()).isFalse();
    assertThat(h.upgrade()).isFalse();
    assertThat(r.trailers.getFirst().isEmpty()).isTrue();
    r.assertAllReleased();
  }

  @Test
  void trimsOptionalWhitespaceAroundValuesAndKeepsEmptyValues() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t spaced  value \t\r\nX-Empty:\r\nX-Empty2:   \r\n\r\n");
    Http1Request h = r.heads.getFirst();
    assertThat(h.header("x-a")).isEqualTo("spaced  value");
    assertThat(h.header("x-empty")).isEmpty();
    assertThat(h.header("x-empty2")).isEmpty();
    assertThat(h.authority()).isEqualTo("a");
    r.assertAllReleased();
  }

  @Test
  void keepsObsTextInValuesAsLatin1() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET / HTTP/1.1\r\nHost: a\r\nX-Name: Jos\u00e9\r\n\r\n");
    assertThat(r.heads.getFirst().header("x-name")).isEqualTo("Jos\u00e9");
    r.assertAllReleased();
  }

  @Test
  void queryIsEmptyStringWhenTargetEndsWithQuestionMark() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.heads.getFirst().query()).isEmpty();
    assertThat(r.heads.getFirst().path()).isEqualTo("/a");
    r.assertAllReleased();
  }

  @Test
  void http10DefaultsToCloseUnlessKeepAlive() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.resumeOnComplete = true;
    r.feed("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
        + "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n");
    assertThat(r.heads).extracting(Http1Request::keepAlive).containsExactly(false, true, false);
    assertThat(r.heads.getFirst().version()).isEqualTo(Http1Version.HTTP_1_0);
    assertThat(r.heads.getFirst().authority()).isNull();
    r.assertAllReleased();
  }

  @Test
  void detectsExpectContinueAndUpgrade() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.resumeOnComplete = true;
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n"
        + "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"
        + "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
    assertThat(r.heads).extracting(Http1Request::expectContinue).containsExactly(true, false, false);
    assertThat(r.heads).extracting(Http1Request::upgrade).containsExactly(false, true, false);
    r.assertAllReleased();
  }

  @Test
  void deliversAFixedLengthBody() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello");
    assertThat(r.events).containsExactly("head", "body");
    assertThat(r.heads.getFirst().contentLength()).isEqualTo(11);
    r.feed(" world");
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies).containsExactly("hello world");
    r.assertAllReleased();
  }

  @Test
  void streamsALargeBodyInPiecesWithoutAccumulatingIt() {
    Recorder<Http1Request> r = Recorder.requestParser();
    int size = 4 * 1024 * 1024;
    r.feed("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + size + "\r\n\r\n");
    byte[] piece = new byte[64 * 1024];
    java.util.Arrays.fill(piece, (byte) 'z');
    for (int sent = 0; sent < size; sent += piece.length) {
      r.parser.feed(r.buf(piece, Recorder.DIRECT));
      assertThat(r.parser.bufferedBytes()).isZero();
    }
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodyPieces).hasSize(size / piece.length).allMatch(n -> n == piece.length);
    assertThat(r.bodies.getFirst()).hasSize(size);
    r.assertAllReleased();
  }

  @Test
  void decodesChunkedBodyWithExtensionsAndTrailers() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
        + "5;name=value;quoted=\"a b\"\r\nhello\r\n"
        + "6 ; ext\r\n world\r\n"
        + "000\r\nX-Checksum: abc\r\nX-Other:  two \r\n\r\n");
    assertThat(r.events).containsExactly("head", "body", "complete");
    Http1Request h = r.heads.getFirst();
    assertThat(h.chunked()).isTrue();
    assertThat(h.contentLength()).isEqualTo(-1);
    assertThat(r.bodies).containsExactly("hello world");
    Http1Headers t = r.trailers.getFirst();
    assertThat(t.size()).isEqualTo(2);
    assertThat(t.get("x-checksum")).isEqualTo("abc");
    assertThat(t.get("x-other")).isEqualTo("two");
    r.assertAllReleased();
  }

  @Test
  void decodesLargeChunksInPieces() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n");
    byte[] piece = new byte[16 * 1024];
    java.util.Arrays.fill(piece, (byte) 'q');
    for (int i = 0; i < 64; i++) {
      r.parser.feed(r.buf(piece, r.alloc));
      assertThat(r.parser.bufferedBytes()).isZero();
    }
    r.feed("\r\n0\r\n\r\n");
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies.getFirst()).hasSize(0x100000);
    assertThat(r.bodyPieces).hasSize(64);
    r.assertAllReleased();
  }

  @Test
  void mergesIdenticalDuplicateContentLengths() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: b\r\ncontent-length: 5\r\n\r\nhello");
    Http1Request h = r.heads.getFirst();
    assertThat(h.contentLength()).isEqualTo(5);
    assertThat(h.headers().count("content-length")).isEqualTo(1);
    assertThat(h.headers().name(1)).isEqualTo("Content-Length");
    assertThat(h.headers().name(2)).isEqualTo("X-A");
    assertThat(r.bodies).containsExactly("hello");
    r.assertAllReleased();
  }

  @Test
  void mergesAnIdenticalContentLengthList() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 , 3\r\n\r\nabc");
    assertThat(r.heads.getFirst().headers().get("content-length")).isEqualTo("3");
    assertThat(r.bodies).containsExactly("abc");
    r.assertAllReleased();
  }

  @Test
  void deliversPipelinedRequestsOnlyAfterResume() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.events).containsExactly("head", "complete");
    assertThat(r.parser.isPaused()).isTrue();
    assertThat(r.parser.bufferedBytes()).isPositive();
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete", "head", "body", "complete");
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete", "head", "body", "complete", "head", "complete");
    assertThat(r.heads).extracting(Http1Request::path).containsExactly("/1", "/2", "/3");
    assertThat(r.bodies).containsExactly("", "abc", "");
    assertThat(r.parser.bufferedBytes()).isZero();
    r.assertAllReleased();
  }

  @Test
  void resumeCalledInsideOnCompleteContinuesWithTheNextRequest() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.resumeOnComplete = true;
    r.feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.heads).extracting(Http1Request::path).containsExactly("/1", "/2");
    r.assertAllReleased();
  }

  @Test
  void reusesTheSameHeadObjectAfterResume() {
    Recorder<Http1Request> r = Recorder.requestParser();
    java.util.List<Http1Request> delivered = new java.util.ArrayList<>();
    r.onHeadHook = delivered::add;
    r.feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n");
    assertThat(delivered.getFirst().path()).isEqualTo("/1"); // unchanged until resume
    r.parser.resume();
    assertThat(delivered).hasSize(2);
    assertThat(delivered.get(1)).isSameAs(delivered.get(0));
    assertThat(delivered.get(1).authority()).isEqualTo("b");
    assertThat(r.heads.getFirst().authority()).isEqualTo("a"); // the copy kept the first request
    r.assertAllReleased();
  }

  @Test
  void pauseStopsBodyDeliveryUntilResume() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.onHeadHook = h -> r.parser.pause(); // e.g. waiting for the route decision
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
    assertThat(r.events).containsExactly("head");
    r.feed("56789");
    assertThat(r.events).containsExactly("head");
    assertThat(r.parser.bufferedBytes()).isEqualTo(10);
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies).containsExactly("0123456789");
    r.assertAllReleased();
  }

  @Test
  void bodilessRequestCompletesOnlyAfterResumeWhenPausedInOnHead() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.onHeadHook = h -> r.parser.pause();
    r.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.events).containsExactly("head");
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete");
    r.assertAllReleased();
  }

  @Test
  void switchToRawPassesFurtherBytesThroughUntouched() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.onHeadHook = h -> {
      if (h.upgrade()) {
        r.parser.switchToRaw();
      }
    };
    r.feed("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u0081\u0000 not http \n\r");
    r.feed("\u0000more");
    assertThat(r.events).containsExactly("head", "body");
    assertThat(r.pendingBody()).isEqualTo("\u0081\u0000 not http \n\r\u0000more");
    assertThat(r.parser.isRaw()).isTrue();
    r.assertAllReleased();
  }

  @Test
  void switchToRawAfterCompleteDeliversBufferedBytes() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\u0016\u0003\u0001tls");
    assertThat(r.events).containsExactly("head", "complete");
    Http1Request h = r.heads.getFirst();
    assertThat(h.method()).isEqualTo("CONNECT");
    assertThat(h.path()).isEqualTo("example.com:443");
    r.parser.switchToRaw();
    r.parser.resume();
    assertThat(r.pendingBody()).isEqualTo("\u0016\u0003\u0001tls");
    r.assertAllReleased();
  }

  @Test
  void ignoresEmptyLinesBeforeTheRequestLine() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.events).containsExactly("head", "complete");
    r.assertAllReleased();
  }

  @Test
  void acceptsOptionsAsterisk() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.heads.getFirst().path()).isEqualTo("*");
    assertThat(r.heads.getFirst().uri()).isEqualTo("*");
    r.assertAllReleased();
  }

  @Test
  void absoluteFormTargetWinsOverHostAndIsForwardedInOriginForm() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET HTTP://Example.com:81/a/b?q=1 HTTP/1.1\r\nHost: other\r\nAccept: x\r\n\r\n"
        + "GET http://example.org HTTP/1.1\r\nHost: example.org\r\n\r\n");
    Http1Request h = r.heads.getFirst();
    assertThat(h.absoluteForm()).isTrue();
    assertThat(h.uri()).isEqualTo("HTTP://Example.com:81/a/b?q=1");
    assertThat(h.path()).isEqualTo("/a/b");
    assertThat(h.query()).isEqualTo("q=1");
    assertThat(h.authority()).isEqualTo("Example.com:81");
    assertThat(h.headers().count("host")).isEqualTo(1);
    io.netty.buffer.ByteBuf out = io.netty.buffer.Unpooled.buffer();
    h.encodeTo(out);
    assertThat(out.toString(StandardCharsets.ISO_8859_1))
        .isEqualTo("GET /a/b?q=1 HTTP/1.1\r\nHost: Example.com:81\r\nAccept: x\r\n\r\n");
    out.release();
    r.parser.resume();
    assertThat(r.heads.get(1).path()).isEqualTo("/");
    r.assertAllReleased();
  }

  @Test
  void setPathRewritesTheTargetKeepingTheQuery() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET /api/items?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    r.parser.close();
    Http1Request h = r.heads.getFirst().copy();
    h.setPath("/v2/items");
    assertThat(h.uri()).isEqualTo("/v2/items?x=1");
    io.netty.buffer.ByteBuf out = io.netty.buffer.Unpooled.buffer();
    h.encodeTo(out);
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).startsWith("GET /v2/items?x=1 HTTP/1.1\r\n");
    out.release();
    r.assertAllReleased();
  }

  @Test
  void cleanCloseBetweenRequestsIsNotAnError() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.resumeOnComplete = true;
    r.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("head", "complete");
    assertThat(r.parser.isDead()).isFalse();
    r.assertAllReleased();
  }

  @Test
  void pipelinedRequestBufferedBeforeCloseIsStillDelivered() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    r.parser.onInputClosed();
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete", "head", "complete");
    r.assertAllReleased();
  }

  @Test
  void customLimitsAreHonouredToTheByte() {
    HttpLimits limits = new HttpLimits(32, 64, 2);
    String line = "GET /" + "a".repeat(32 - 14) + " HTTP/1.1";
    assertThat(line).hasSize(32);
    String fields = "Host: a\r\nX: " + "v".repeat(48) + "\r\n\r\n";
    assertThat(fields).hasSize(64);
    Recorder<Http1Request> ok = Recorder.requestParser(limits);
    ok.feed(line + "\r\n" + fields);
    assertThat(ok.events).containsExactly("head", "complete");
    ok.assertAllReleased();

    Recorder<Http1Request> longLine = Recorder.requestParser(limits);
    longLine.feed("GET /a" + line.substring(5) + "\r\n" + fields);
    assertThat(longLine.events).containsExactly("error");
    longLine.assertAllReleased();

    Recorder<Http1Request> bigBlock = Recorder.requestParser(limits);
    bigBlock.feed(line + "\r\nHost: a\r\nX: v" + fields.substring(12));
    assertThat(bigBlock.events).containsExactly("error");
    bigBlock.assertAllReleased();
  }

  @Test
  void feedingAnEmptyBufferIsHarmless() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("");
    r.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    r.feed("");
    assertThat(r.events).containsExactly("head", "complete");
    r.assertAllReleased();
  }

  @Test
  void repeatedValuesAreReusedAndChangedValuesAreNot() {
    Recorder<Http1Request> r = Recorder.requestParser();
    java.util.List<String> agents = new java.util.ArrayList<>();
    java.util.List<String> paths = new java.util.ArrayList<>();
    r.onHeadHook = h -> {
      agents.add(h.header("user-agent"));
      paths.add(h.path());
    };
    r.resumeOnComplete = true;
    r.feed("GET /same HTTP/1.1\r\nHost: a\r\nUser-Agent: wrk/4\r\n\r\n"
        + "GET /same HTTP/1.1\r\nHost: a\r\nUser-Agent: wrk/4\r\n\r\n"
        + "GET /othr HTTP/1.1\r\nHost: a\r\nUser-Agent: wrk/5\r\n\r\n"
        + "GET /othr HTTP/1.1\r\nHost: a\r\nX-Other: wrk/5\r\n\r\n");
    assertThat(agents).containsExactly("wrk/4", "wrk/4", "wrk/5", null);
    assertThat(agents.get(1)).isSameAs(agents.get(0));
    assertThat(paths).containsExactly("/same", "/same", "/othr", "/othr");
    assertThat(paths.get(1)).isSameAs(paths.get(0));
    assertThat(r.heads.get(3).header("x-other")).isEqualTo("wrk/5");
    r.assertAllReleased();
  }

  @Test
  void manyTinyReadsWhilePausedAreBufferedAndDeliveredInOrder() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.onHeadHook = h -> r.parser.pause();
    int size = 5_000;
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + size + "\r\n\r\n");
    StringBuilder expected = new StringBuilder(size);
    for (int i = 0; i < size; i++) {
      char c = (char) ('a' + i % 26);
      expected.append(c);
      r.feed(String.valueOf(c));
    }
    assertThat(r.events).containsExactly("head");
    assertThat(r.parser.bufferedBytes()).isEqualTo(size);
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies).containsExactly(expected.toString());
    r.assertAllReleased();
  }

  @Test
  void pauseInsideOnBodyHoldsTheRestOfTheBody() {
    Recorder<Http1Request> r = Recorder.requestParser();
    Http1Listener<Http1Request> pausing = new Http1Listener<>() {
      @Override
      public void onHead(Http1Request head) {
        r.onHead(head);
      }

      @Override
      public void onBody(io.netty.buffer.ByteBuf content) {
        r.onBody(content);
        r.parser.pause(); // the downstream socket is not writable
      }

      @Override
      public void onComplete(Http1Headers trailers) {
        r.onComplete(trailers);
      }

      @Override
      public void onError(Http1ParseException e) {
        r.onError(e);
      }
    };
    r.parser = new Http1RequestParser(pausing, HttpLimits.DEFAULT);
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
    assertThat(r.pendingBody()).isEqualTo("abc");
    r.parser.resume();
    assertThat(r.pendingBody()).isEqualTo("abcdef");
    assertThat(r.events).containsExactly("head", "body");
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "body", "complete");
    r.assertAllReleased();
  }
}
