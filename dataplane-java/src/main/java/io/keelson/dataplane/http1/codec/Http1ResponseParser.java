package io.keelson.dataplane.http1.codec;

import io.keelson.dataplane.config.HttpLimits;
import java.nio.charset.StandardCharsets;

/**
 * Parses upstream HTTP/1.x responses, strictly, so that a broken upstream is detected (the proxy
 * answers 502): see {@link Http1MessageParser} for feeding, pausing and ownership. Call
 * {@link #expectResponseTo(String)} before each exchange: responses to HEAD and 2xx responses to
 * CONNECT have no body. A 1xx response (100 Continue) completes like any message; resume() then
 * parses the final response. One {@link Http1Response} object is reused for every response: it is
 * valid from {@code onHead} until the listener calls {@link #resume()} after its {@code onComplete}.
 * Not thread-safe: owned by the upstream connection's event loop.
 */
public final class Http1ResponseParser extends Http1MessageParser<Http1Response> {
  /** Defaults for upstream responses: 8 KiB status line, Envoy's 60 KiB / 100 header fields. */
  public static final HttpLimits DEFAULT_LIMITS = new HttpLimits(8 * 1024, 60 * 1024, 100);

  private static final String[] REASONS = {"OK", "Continue", "No Content", "Not Modified", "Not Found", "Created",
    "Switching Protocols", "Bad Request", "Internal Server Error", "Bad Gateway", "Service Unavailable",
    "Found", "Moved Permanently", "Forbidden", "Unauthorized"};
  private static final byte[][] REASON_BYTES = new byte[REASONS.length][];

  static {
    for (int i = 0; i < REASONS.length; i++) {
      REASON_BYTES[i] = REASONS[i].getBytes(StandardCharsets.ISO_8859_1);
    }
  }

  private final Http1Response response = new Http1Response();
  private boolean headRequest;
  private boolean connectRequest;

  public Http1ResponseParser(Http1Listener<Http1Response> listener) {
    this(listener, DEFAULT_LIMITS, DEFAULT_MAX_BUFFERED_BYTES);
  }

  /** @param limits maxRequestLineBytes bounds the status line here */
  public Http1ResponseParser(Http1Listener<Http1Response> listener, HttpLimits limits) {
    this(listener, limits, DEFAULT_MAX_BUFFERED_BYTES);
  }

  /**
   * @param limits maxRequestLineBytes bounds the status line here
   * @param maxBufferedBytes most bytes kept while paused (body under backpressure)
   */
  public Http1ResponseParser(Http1Listener<Http1Response> listener, HttpLimits limits, int maxBufferedBytes) {
    super(listener, limits, maxBufferedBytes);
  }

  /** The method of the request the next response answers (stays in force until changed). */
  public void expectResponseTo(String method) {
    headRequest = "HEAD".equals(method);
    connectRequest = "CONNECT".equals(method);
  }

  @Override
  String startLineName() {
    return "status line";
  }

  @Override
  Http1Headers headHeaders() {
    return response.headers();
  }

  @Override
  Http1Response head() {
    return response;
  }

  @Override
  void parseStartLine(byte[] b, int from, int to) throws Http1ParseException {
    if (to - from < 12) {
      throw Http1ParseException.badRequest("status line shorter than 'HTTP/1.1 200'");
    }
    Http1Version version = Http1Version.parse(b, from, from + 8);
    if (version == null) {
      throw Http1ParseException.badRequest("status line does not start with 'HTTP/1.1 ' or 'HTTP/1.0 '");
    }
    if (b[from + 8] != Http1Bytes.SP) {
      throw Http1ParseException.badRequest("status line: expected one space after the version");
    }
    int d0 = b[from + 9] - '0';
    int d1 = b[from + 10] - '0';
    int d2 = b[from + 11] - '0';
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      throw Http1ParseException.badRequest("status code is not 3 digits between 100 and 599");
    }
    int status = d0 * 100 + d1 * 10 + d2;
    String reason;
    if (to == from + 12) {
      reason = ""; // "HTTP/1.1 200" without the space: harmless, and some servers send it
    } else {
      if (b[from + 12] != Http1Bytes.SP) {
        throw Http1ParseException.badRequest("status line: expected a space after the status code");
      }
      int bad = Http1Bytes.firstNonFieldChar(b, from + 13, to);
      if (bad < to) {
        throw Http1ParseException.badRequest("reason phrase contains invalid byte " + Http1Bytes.hex(b[bad]) + " at offset " + bad);
      }
      reason = reason(b, from + 13, to);
    }
    response.statusLine(version, status, reason);
  }

  private static String reason(byte[] b, int from, int to) {
    int len = to - from;
    for (int i = 0; i < REASONS.length; i++) {
      byte[] r = REASON_BYTES[i];
      if (r.length == len && java.util.Arrays.equals(b, from, to, r, 0, len)) {
        return REASONS[i];
      }
    }
    return new String(b, from, len, StandardCharsets.ISO_8859_1);
  }

  @Override
  long finishHead() throws Http1ParseException {
    Http1Response r = response;
    Http1Headers h = r.headers();
    Http1Version version = r.version();
    long framing = Http1Framing.parse(h, version); // checked even when there is no body: smuggling shapes
    int status = r.status();
    boolean close = h.containsToken("connection", "close");
    boolean keepAlive = version == Http1Version.HTTP_1_1
        ? !close
        : !close && h.containsToken("connection", "keep-alive");
    boolean noBody = status < 200 || status == 204 || status == 304 || headRequest
        || (connectRequest && status < 300);
    if (noBody) {
      r.framing(0, false, false, keepAlive);
      return 0;
    }
    if (framing == BODY_CHUNKED) {
      r.framing(-1, true, false, keepAlive);
      return BODY_CHUNKED;
    }
    if (framing >= 0) {
      r.framing(framing, false, false, keepAlive);
      return framing;
    }
    r.framing(-1, false, true, false);
    return BODY_UNTIL_CLOSE;
  }
}
