package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.HttpLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every request shape the parser must refuse (smuggling, malformed framing, limits): each test
 * asserts the status, and that nothing of the bad message reached onHead or onBody.
 */
@ExtendWith(LeakDetection.class)
class Http1RequestRejectionTest {

  /** Feeds a whole head that must be rejected before any callback but onError. */
  private static Http1ParseException rejectHead(String wire) {
    return rejectHead(wire, HttpLimits.DEFAULT);
  }

  private static Http1ParseException rejectHead(String wire, HttpLimits limits) {
    Recorder<Http1Request> r = Recorder.requestParser(limits);
    r.feed(wire);
    assertThat(r.events).as("events for %s", wire).containsExactly("error");
    assertThat(r.parser.isDead()).isTrue();
    // a dead parser ignores (and releases) further input
    r.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assertThat(r.events).containsExactly("error");
    r.assertAllReleased();
    return r.error;
  }

  private static Http1ParseException rejectHead400(String wire, String reasonPart) {
    Http1ParseException e = rejectHead(wire);
    assertThat(e.status()).isEqualTo(400);
    assertThat(e.reason()).contains(reasonPart);
    return e;
  }

  /** A chunked body whose framing breaks: the head went through, the bad chunk must not. */
  private static Http1ParseException rejectChunked(String chunks, String expectedBodyBeforeError) {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
    assertThat(r.events.getFirst()).isEqualTo("head");
    assertThat(r.events.getLast()).isEqualTo("error");
    assertThat(r.events).doesNotContain("complete");
    assertThat(r.pendingBody()).isEqualTo(expectedBodyBeforeError);
    assertThat(r.error.status()).isEqualTo(400);
    r.assertAllReleased();
    return r.error;
  }

  // ---- Content-Length / Transfer-Encoding ------------------------------------------------------

  @Test
  void rejectsContentLengthWithTransferEncoding() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "both Content-Length and Transfer-Encoding");
  }

  @Test
  void rejectsTransferEncodingWithContentLengthInEitherOrder() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        "both Content-Length and Transfer-Encoding");
  }

  @Test
  void rejectsTwoDifferentContentLengths() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "Content-Length values differ");
  }

  @Test
  void rejectsContentLengthListWithDifferentValues() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!", "Content-Length values differ");
  }

  @Test
  void rejectsNonDigitContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\nhello", "not a non-negative decimal");
  }

  @Test
  void rejectsNegativeContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "not a non-negative decimal");
  }

  @Test
  void rejectsSignedContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", "not a non-negative decimal");
  }

  @Test
  void rejectsHexContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", "not a non-negative decimal");
  }

  @Test
  void rejectsOverflowingContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", "overflows");
  }

  @Test
  void rejectsEmptyContentLength() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", "empty Content-Length");
  }

  @Test
  void rejectsUnknownTransferCodingWith501() {
    Http1ParseException e = rejectHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n");
    assertThat(e.status()).isEqualTo(501);
    assertThat(e.reason()).contains("foo");
  }

  @Test
  void rejectsGzipTransferCodingWith501() {
    assertThat(rejectHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
        .status()).isEqualTo(501);
  }

  @Test
  void rejectsChunkedNotLast() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        "chunked is not the final");
  }

  @Test
  void rejectsChunkedAppliedTwice() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "chunked is not the final");
  }

  @Test
  void rejectsTransferEncodingWithoutChunked() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "without chunked as the final");
  }

  @Test
  void rejectsLookalikeChunkedCoding() {
    assertThat(rejectHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked-x\r\n\r\n").status()).isEqualTo(400);
    assertThat(rejectHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n").status()).isEqualTo(400);
  }

  @Test
  void rejectsEmptyTransferEncodingElement() {
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", "empty element");
    rejectHead400("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", "empty element");
  }

  @Test
  void rejectsTransferEncodingInHttp10() {
    rejectHead400("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0");
  }

  // ---- chunk framing ---------------------------------------------------------------------------

  @Test
  void rejectsNonHexChunkSize() {
    assertThat(rejectChunked("5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n", "hello").reason()).contains("non-hex");
  }

  @Test
  void rejectsNegativeChunkSize() {
    rejectChunked("-5\r\nhello\r\n0\r\n\r\n", "");
  }

  @Test
  void rejectsEmptyChunkSize() {
    assertThat(rejectChunked("\r\nhello\r\n0\r\n\r\n", "").reason()).contains("empty chunk size");
  }

  @Test
  void rejectsOverflowingChunkSize() {
    assertThat(rejectChunked("10000000000000000\r\nhello\r\n", "").reason()).contains("overflows");
  }

  @Test
  void rejectsChunkSizeFollowedByGarbage() {
    assertThat(rejectChunked("5 x\r\nhello\r\n0\r\n\r\n", "").reason()).contains("after chunk size");
    rejectChunked("5 \r\nhello\r\n0\r\n\r\n", "");
  }

  @Test
  void rejectsChunkSizeEndingWithBareLf() {
    assertThat(rejectChunked("5\nhello\r\n0\r\n\r\n", "").reason()).contains("bare LF");
  }

  @Test
  void rejectsChunkExtensionWithBareCr() {
    assertThat(rejectChunked("5;a=b\rc\r\nhello\r\n0\r\n\r\n", "").reason()).contains("bare CR");
  }

  @Test
  void rejectsChunkExtensionWithBareLf() {
    assertThat(rejectChunked("5;a=b\nc\r\nhello\r\n0\r\n\r\n", "").reason()).contains("bare LF");
  }

  @Test
  void rejectsChunkExtensionWithControlByte() {
    assertThat(rejectChunked("5;a=\u0001\r\nhello\r\n0\r\n\r\n", "").reason()).contains("0x01");
  }

  @Test
  void rejectsChunkDataNotFollowedByCrlf() {
    // the declared 5 bytes are streamed; what follows them must be CRLF, never a new chunk or request
    assertThat(rejectChunked("5\r\nhelloX\r\n0\r\n\r\n", "hello").reason()).contains("not followed by CRLF");
  }

  @Test
  void rejectsChunkDataFollowedByCrWithoutLf() {
    rejectChunked("5\r\nhello\rX0\r\n\r\n", "hello");
  }

  @Test
  void rejectsChunkDataFollowedByBareLf() {
    rejectChunked("5\r\nhello\n0\r\n\r\n", "hello");
  }

  @Test
  void rejectsOverlongChunkSizeLine() {
    assertThat(rejectChunked("5;" + "a".repeat(5000) + "\r\nhello\r\n0\r\n\r\n", "").reason()).contains("chunk-size line longer");
  }

  // ---- trailers --------------------------------------------------------------------------------

  @Test
  void rejectsTrailerWithInvalidByte() {
    assertThat(rejectChunked("5\r\nhello\r\n0\r\nX-Sum: a\u0000b\r\n\r\n", "hello").reason())
        .contains("trailer value contains invalid byte 0x00");
  }

  @Test
  void rejectsTrailerWithObsFold() {
    rejectChunked("0\r\nX-Sum: a\r\n b\r\n\r\n", "");
  }

  @Test
  void rejectsTrailerBlockOverLimit() {
    HttpLimits small = new HttpLimits(1024, 100, 100);
    Recorder<Http1Request> r = Recorder.requestParser(small);
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Pad: " + "p".repeat(200) + "\r\n\r\n");
    assertThat(r.events).containsExactly("head", "error");
    assertThat(r.error.reason()).contains("trailer block larger than 100 bytes");
    r.assertAllReleased();
  }

  // ---- field lines -----------------------------------------------------------------------------

  @Test
  void rejectsObsFold() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", "obs-fold");
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n", "obs-fold");
  }

  @Test
  void rejectsWhitespaceBeforeFirstHeader() {
    rejectHead400("GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obs-fold");
  }

  @Test
  void rejectsBareLfInRequestLine() {
    rejectHead400("GET / HTTP/1.1\nHost: a\r\n\r\n", "bare LF");
  }

  @Test
  void rejectsBareLfBetweenHeaders() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", "bare LF");
  }

  @Test
  void rejectsBareLfEndingTheHead() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\n\n", "bare LF");
  }

  @Test
  void rejectsBareLfInHeaderValue() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nc\r\n\r\n", "bare LF");
  }

  @Test
  void rejectsBareCrInHeaderValue() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", "bare CR");
  }

  @Test
  void rejectsBareCrBeforeEndOfHead() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\n\rX", "bare CR");
  }

  @Test
  void rejectsControlByteInHeaderName() {
    Http1ParseException e = rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-\u0001A: b\r\n\r\n", "header name contains invalid byte 0x01");
    assertThat(e.reason()).contains("at offset 27");
  }

  @Test
  void rejectsNonTokenByteInHeaderName() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", "header name contains invalid byte 0x28");
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-\u00e9: b\r\n\r\n", "header name contains invalid byte 0xe9");
  }

  @Test
  void rejectsNulInHeaderValue() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u0000c\r\n\r\n", "header value contains invalid byte 0x00");
  }

  @Test
  void rejectsControlByteInHeaderValue() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u001bc\r\n\r\n", "header value contains invalid byte 0x1b");
  }

  @Test
  void rejectsDelInHeaderValue() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u007f\r\n\r\n", "header value contains invalid byte 0x7f");
  }

  @Test
  void rejectsWhitespaceBetweenHeaderNameAndColon() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", "whitespace between header name and colon");
    rejectHead400("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "whitespace between header name and colon");
  }

  @Test
  void rejectsEmptyHeaderName() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", "empty header name");
  }

  @Test
  void rejectsHeaderLineWithoutColon() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", "without a colon");
  }

  // ---- request line ----------------------------------------------------------------------------

  @Test
  void rejectsTwoSpacesAfterMethod() {
    rejectHead400("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "more than one space");
  }

  @Test
  void rejectsTwoSpacesBeforeVersion() {
    rejectHead400("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1");
  }

  @Test
  void rejectsTabAsRequestLineSeparator() {
    rejectHead400("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", "method contains invalid byte 0x09");
  }

  @Test
  void rejectsLeadingWhitespaceInRequestLine() {
    rejectHead400(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", "starts with whitespace");
  }

  @Test
  void rejectsTrailingSpaceAfterVersion() {
    assertThat(rejectHead("GET / HTTP/1.1 \r\nHost: a\r\n\r\n").status()).isEqualTo(400);
  }

  @Test
  void rejectsMissingVersion() {
    rejectHead400("GET /\r\nHost: a\r\n\r\n", "no HTTP version");
  }

  @Test
  void rejectsMissingTarget() {
    rejectHead400("GET\r\nHost: a\r\n\r\n", "no request-target");
  }

  @Test
  void rejectsUnknownVersion() {
    assertThat(rejectHead("GET / HTTP/2.0\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
    assertThat(rejectHead("GET / HTTP/1.2\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
    assertThat(rejectHead("GET / HTTP/0.9\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
    assertThat(rejectHead("GET / HTTP/1.10\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
  }

  @Test
  void rejectsLowerCaseHttpInVersion() {
    rejectHead400("GET / http/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1");
  }

  @Test
  void rejectsControlByteInRequestTarget() {
    rejectHead400("GET /a\u0001b HTTP/1.1\r\nHost: a\r\n\r\n", "request-target contains invalid byte 0x01");
  }

  @Test
  void rejectsNonAsciiByteInRequestTarget() {
    rejectHead400("GET /caf\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n", "request-target contains invalid byte 0xe9");
  }

  @Test
  void rejectsFragmentInRequestTarget() {
    rejectHead400("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", "0x23");
  }

  @Test
  void rejectsAsteriskTargetForNonOptions() {
    rejectHead400("GET * HTTP/1.1\r\nHost: a\r\n\r\n", "only allowed for OPTIONS");
  }

  @Test
  void rejectsAuthorityFormForNonConnect() {
    rejectHead400("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", "neither origin-form");
  }

  @Test
  void rejectsConnectWithOriginForm() {
    rejectHead400("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", "CONNECT request-target");
  }

  @Test
  void rejectsConnectWithoutPort() {
    rejectHead400("CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", "host:port");
  }

  @Test
  void rejectsRelativeTarget() {
    rejectHead400("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", "neither origin-form");
  }

  @Test
  void rejectsUserinfoInAbsoluteFormTarget() {
    rejectHead400("GET http://user@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", "'@'");
  }

  @Test
  void rejectsInvalidMethodByte() {
    rejectHead400("G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", "method contains invalid byte 0x28");
  }

  // ---- Host ------------------------------------------------------------------------------------

  @Test
  void rejectsMissingHostInHttp11() {
    rejectHead400("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "missing Host");
  }

  @Test
  void rejectsMultipleHostHeaders() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "multiple Host");
  }

  @Test
  void rejectsMultipleHostHeadersInHttp10() {
    rejectHead400("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", "multiple Host");
  }

  @Test
  void rejectsHostWithInvalidCharacters() {
    rejectHead400("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "Host header holds ' '");
    rejectHead400("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "Host header holds '/'");
    rejectHead400("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", "Host header holds '@'");
  }

  // ---- limits ----------------------------------------------------------------------------------

  @Test
  void rejectsOverlongRequestLine() {
    HttpLimits limits = new HttpLimits(64, 1024, 10);
    rejectHead400Limits("GET /" + "a".repeat(100) + " HTTP/1.1\r\nHost: a\r\n\r\n", limits, "request line longer than 64 bytes");
  }

  @Test
  void rejectsOverlongRequestLineBeforeItsEndArrives() {
    Recorder<Http1Request> r = Recorder.requestParser(new HttpLimits(64, 1024, 10));
    for (int i = 0; i < 10 && r.error == null; i++) {
      r.feed(i == 0 ? "GET /" : "aaaaaaaaaaaaaaaaaaaa");
    }
    assertThat(r.events).containsExactly("error");
    assertThat(r.error.reason()).contains("request line longer than 64 bytes");
    r.assertAllReleased();
  }

  @Test
  void rejectsHeaderBlockOverLimit() {
    HttpLimits limits = new HttpLimits(1024, 100, 100);
    rejectHead400Limits("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + "v".repeat(60) + "\r\nX-B: " + "v".repeat(60) + "\r\n\r\n",
        limits, "header block larger than 100 bytes");
  }

  @Test
  void rejectsEndlessHeaderLineBeforeItsEndArrives() {
    Recorder<Http1Request> r = Recorder.requestParser(new HttpLimits(1024, 100, 100));
    r.feed("GET / HTTP/1.1\r\nHost: a\r\nX-A: ");
    for (int i = 0; i < 20 && r.error == null; i++) {
      r.feed("vvvvvvvvvv");
    }
    assertThat(r.events).containsExactly("error");
    assertThat(r.error.reason()).contains("header block larger than 100 bytes");
    r.assertAllReleased();
  }

  @Test
  void rejectsMoreHeadersThanTheCountLimit() {
    HttpLimits limits = new HttpLimits(1024, 8192, 3);
    rejectHead400Limits("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits, "more than 3 header fields");
  }

  @Test
  void acceptsHeadersExactlyAtTheCountLimit() {
    Recorder<Http1Request> r = Recorder.requestParser(new HttpLimits(1024, 8192, 3));
    r.feed("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
    assertThat(r.events).containsExactly("head", "complete");
    r.assertAllReleased();
  }

  private static void rejectHead400Limits(String wire, HttpLimits limits, String reasonPart) {
    Http1ParseException e = rejectHead(wire, limits);
    assertThat(e.status()).isEqualTo(400);
    assertThat(e.reason()).contains(reasonPart);
  }

  // ---- buffering and truncation -----------------------------------------------------------------

  @Test
  void rejectsInputBeyondTheBoundWhilePaused() {
    Recorder<Http1Request> r = Recorder.requests();
    r.parser = new Http1RequestParser(r, HttpLimits.DEFAULT, 1000);
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
    r.parser.pause();
    r.feed("x".repeat(600));
    assertThat(r.events).containsExactly("head");
    r.feed("x".repeat(600));
    assertThat(r.events).containsExactly("head", "error");
    assertThat(r.error.reason()).contains("more than 1000 bytes received while paused");
    r.assertAllReleased();
  }

  @Test
  void reportsConnectionClosedInTheMiddleOfABody() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("head", "body", "error");
    assertThat(r.error.reason()).contains("closed before the end");
    r.assertAllReleased();
  }

  @Test
  void reportsConnectionClosedInTheMiddleOfAHead() {
    Recorder<Http1Request> r = Recorder.requestParser();
    r.feed("GET / HTTP/1.1\r\nHost: a\r\n");
    r.parser.onInputClosed();
    assertThat(r.events).containsExactly("error");
    r.assertAllReleased();
  }
}
