package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Response framing (HEAD, 204, 304, 1xx, 101, CONNECT, until close) and broken-upstream detection. */
@ExtendWith(LeakDetection.class)
class Http1ResponseParserTest {

  private static Recorder<Http1Response> parser(String method) {
    Recorder<Http1Response> r = Recorder.responseParser();
    r.responseParserOf().expectResponseTo(method);
    return r;
  }

  @Test
  void parsesAFixedLengthResponse() {
    Recorder<Http1Response> r = parser("GET");
    r.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
    assertThat(r.events).containsExactly("head", "body", "complete");
    Http1Response h = r.heads.getFirst();
    assertThat(h.status()).isEqualTo(200);
    assertThat(h.reason()).isEqualTo("OK");
    assertThat(h.version()).isEqualTo(Http1Version.HTTP_1_1);
    assertThat(h.contentLength()).isEqualTo(5);
    assertThat(h.keepAlive()).isTrue();
    assertThat(h.headers().get("content-type")).isEqualTo("text/plain");
    assertThat(r.bodies).containsExactly("hello");
    r.assertAllReleased();
  }

  @Test
  void parsesAChunkedResponseWithTrailers() {
    Recorder<Http1Response> r = parser("POST");
    r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 0\r\n\r\n");
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.heads.getFirst().chunked()).isTrue();
    assertThat(r.trailers.getFirst().get("grpc-status")).isEqualTo("0");
    r.assertAllReleased();
  }

  @Test
  void responseToHeadHasNoBodyDespiteContentLength() {
    Recorder<Http1Response> r = parser("HEAD");
    r.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assertThat(r.events).containsExactly("head", "complete");
    assertThat(r.heads.getFirst().contentLength()).isZero();
    assertThat(r.heads.getFirst().headers().get("content-length")).isEqualTo("1000");
    r.responseParserOf().expectResponseTo("GET");
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete", "head", "complete");
    assertThat(r.heads.get(1).status()).isEqualTo(404);
    r.assertAllReleased();
  }

  @Test
  void noContentAndNotModifiedHaveNoBody() {
    Recorder<Http1Response> r = parser("GET");
    r.resumeOnComplete = true;
    r.feed("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: \"x\"\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(r.heads).extracting(Http1Response::status).containsExactly(204, 304, 200);
    assertThat(r.bodies).containsExactly("", "", "ok");
    r.assertAllReleased();
  }

  @Test
  void continueIsFollowedByTheFinalResponse() {
    Recorder<Http1Response> r = parser("POST");
    r.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    assertThat(r.events).containsExactly("head", "complete");
    assertThat(r.heads.getFirst().informational()).isTrue();
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "complete", "head", "body", "complete");
    assertThat(r.heads.get(1).status()).isEqualTo(201);
    assertThat(r.heads.get(1).informational()).isFalse();
    assertThat(r.bodies).containsExactly("", "ok");
    r.assertAllReleased();
  }

  @Test
  void switchingProtocolsThenRawBytes() {
    Recorder<Http1Response> r = parser("GET");
    r.onHeadHook = h -> {
      if (h.status() == 101) {
        r.parser.switchToRaw();
      }
    };
    r.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u0081\u0005hello");
    assertThat(r.events).containsExactly("head", "body");
    assertThat(r.pendingBody()).isEqualTo("\u0081\u0005hello");
    r.assertAllReleased();
  }

  @Test
  void successfulConnectResponseHasNoBody() {
    Recorder<Http1Response> r = parser("CONNECT");
    r.feed("HTTP/1.1 200 Connection Established\r\n\r\n\u0016\u0003");
    assertThat(r.events).containsExactly("head", "complete");
    r.parser.switchToRaw();
    r.parser.resume();
    assertThat(r.pendingBody()).isEqualTo("\u0016\u0003");
    r.assertAllReleased();
  }

  @Test
  void readsUntilCloseWithoutFraming() {
    Recorder<Http1Response> r = parser("GET");
    r.feed("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nfirst ");
    r.feed("second");
    assertThat(r.events).containsExactly("head", "body");
    Http1Response h = r.heads.getFirst();
    assertThat(h.untilClose()).isTrue();
    assertThat(h.keepAlive()).isFalse();
    assertThat(h.contentLength()).isEqualTo(-1);
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies).containsExactly("first second");
    r.assertAllReleased();
  }

  @Test
  void untilCloseBodyBufferedWhilePausedIsDeliveredBeforeCompleting() {
    Recorder<Http1Response> r = parser("GET");
    r.onHeadHook = h -> r.parser.pause();
    r.feed("HTTP/1.1 200 OK\r\n\r\nall of it");
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("head");
    r.parser.resume();
    assertThat(r.events).containsExactly("head", "body", "complete");
    assertThat(r.bodies).containsExactly("all of it");
    r.assertAllReleased();
  }

  @Test
  void keepAliveFollowsVersionAndConnection() {
    Recorder<Http1Response> r = parser("GET");
    r.resumeOnComplete = true;
    r.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        + "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        + "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assertThat(r.heads).extracting(Http1Response::keepAlive).containsExactly(false, true, false);
    r.assertAllReleased();
  }

  @Test
  void acceptsAnEmptyReasonPhraseWithOrWithoutTheSpace() {
    Recorder<Http1Response> r = parser("GET");
    r.resumeOnComplete = true;
    r.feed("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\nHTTP/1.1 503\r\nContent-Length: 0\r\n\r\n");
    assertThat(r.heads).extracting(Http1Response::reason).containsExactly("", "");
    assertThat(r.heads).extracting(Http1Response::status).containsExactly(200, 503);
    r.assertAllReleased();
  }

  @Test
  void reportsATruncatedBodyWhenTheUpstreamCloses() {
    Recorder<Http1Response> r = parser("GET");
    r.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("head", "body", "error");
    r.assertAllReleased();
  }

  // ---- broken upstreams ------------------------------------------------------------------------

  private static Http1ParseException reject(String wire) {
    Recorder<Http1Response> r = parser("GET");
    r.feed(wire);
    assertThat(r.events).as("events for %s", wire).containsExactly("error");
    assertThat(r.error.status()).isEqualTo(400); // the proxy turns it into a 502
    r.assertAllReleased();
    return r.error;
  }

  @Test
  void rejectsStatusCodeWithTwoDigits() {
    assertThat(reject("HTTP/1.1 20 OK\r\n\r\n").reason()).contains("3 digits");
  }

  @Test
  void rejectsStatusCodeWithFourDigits() {
    reject("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n");
  }

  @Test
  void rejectsStatusCodeBelow100() {
    reject("HTTP/1.1 099 Odd\r\n\r\n");
  }

  @Test
  void rejectsTwoSpacesAfterVersion() {
    reject("HTTP/1.1  200 OK\r\n\r\n");
  }

  @Test
  void rejectsLowerCaseVersionInStatusLine() {
    reject("http/1.1 200 OK\r\n\r\n");
  }

  @Test
  void rejectsHttp2VersionInStatusLine() {
    reject("HTTP/2.0 200 OK\r\n\r\n");
  }

  @Test
  void rejectsControlByteInReasonPhrase() {
    assertThat(reject("HTTP/1.1 200 O\u0001K\r\n\r\n").reason()).contains("0x01");
  }

  @Test
  void rejectsResponseWithContentLengthAndTransferEncoding() {
    assertThat(reject("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").reason())
        .contains("both Content-Length and Transfer-Encoding");
  }

  @Test
  void rejectsResponseWithDifferentContentLengths() {
    reject("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
  }

  @Test
  void rejectsSmugglingShapesEvenOnBodilessResponses() {
    Recorder<Http1Response> r = parser("HEAD");
    r.feed("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    assertThat(r.events).containsExactly("error");
    r.assertAllReleased();
  }

  @Test
  void rejectsBareLfInResponseHead() {
    reject("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n");
  }

  @Test
  void rejectsObsFoldInResponse() {
    reject("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n");
  }

  @Test
  void rejectsTransferEncodingInHttp10Response() {
    reject("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  }

  @Test
  void rejectsMalformedChunkInResponse() {
    Recorder<Http1Response> r = parser("GET");
    r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n");
    assertThat(r.events).containsExactly("head", "error");
    r.assertAllReleased();
  }
}
