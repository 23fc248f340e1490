package io.keelson.dataplane.http1.codec;

import io.keelson.dataplane.config.HttpLimits;
import java.nio.charset.StandardCharsets;

/**
 * Parses downstream HTTP/1.x requests, strictly (RFC 9112): see {@link Http1MessageParser} for the
 * feeding, pausing and ownership rules. One {@link Http1Request} object is reused for every request
 * of the connection: it is valid from {@code onHead} until the listener calls {@link #resume()}
 * after that request's {@code onComplete}. Not thread-safe: owned by the connection's event loop.
 */
public final class Http1RequestParser extends Http1MessageParser<Http1Request> {
  private final Http1Request request = new Http1Request();
  private final Latin1Memo pathMemo = new Latin1Memo();
  private final Latin1Memo queryMemo = new Latin1Memo();

  public Http1RequestParser(Http1Listener<Http1Request> listener, HttpLimits limits) {
    this(listener, limits, DEFAULT_MAX_BUFFERED_BYTES);
  }

  /** @param maxBufferedBytes most bytes kept while paused (pipelined requests, body under backpressure) */
  public Http1RequestParser(Http1Listener<Http1Request> listener, HttpLimits limits, int maxBufferedBytes) {
    super(listener, limits, maxBufferedBytes);
  }

  @Override
  String startLineName() {
    return "request line";
  }

  @Override
  Http1Headers headHeaders() {
    return request.headers();
  }

  @Override
  Http1Request head() {
    return request;
  }

  @Override
  void parseStartLine(byte[] b, int from, int to) throws Http1ParseException {
    int sp1 = Http1Bytes.skipToken(b, from, to);
    if (sp1 == to || b[sp1] != Http1Bytes.SP || sp1 == from) {
      throw badToken(b, from, sp1, to);
    }
    int t = sp1 + 1;
    int sp2 = t;
    while (sp2 < to && Http1Bytes.isTargetChar(b[sp2])) {
      sp2++;
    }
    if (sp2 == t) {
      throw Http1ParseException.badRequest(t < to && b[t] == Http1Bytes.SP
          ? "more than one space after the method in the request line"
          : t == to ? "request line has no request-target" : "request-target contains invalid byte " + Http1Bytes.hex(b[t]) + " at offset " + t);
    }
    if (sp2 == to) {
      throw Http1ParseException.badRequest("request line has no HTTP version");
    }
    if (b[sp2] != Http1Bytes.SP) {
      throw Http1ParseException.badRequest(
          "request-target contains invalid byte " + Http1Bytes.hex(b[sp2]) + " at offset " + sp2);
    }
    Http1Version version = Http1Version.parse(b, sp2 + 1, to);
    if (version == null) {
      throw Http1ParseException.badRequest("request line does not end with ' HTTP/1.1' or ' HTTP/1.0'");
    }
    String method = method(b, from, sp1);
    parseTarget(method, b, t, sp2, version);
  }

  private static Http1ParseException badToken(byte[] b, int from, int stop, int to) {
    if (stop == to) {
      return Http1ParseException.badRequest(from == to ? "empty request line" : "request line has no request-target");
    }
    if (stop == from) {
      return Http1ParseException.badRequest(b[from] == Http1Bytes.SP || b[from] == Http1Bytes.HTAB
          ? "request line starts with whitespace"
          : "method contains invalid byte " + Http1Bytes.hex(b[from]) + " at offset " + from);
    }
    return Http1ParseException.badRequest("method contains invalid byte " + Http1Bytes.hex(b[stop]) + " at offset " + stop);
  }

  private void parseTarget(String method, byte[] b, int t, int end, Http1Version version) throws Http1ParseException {
    boolean connect = method.equals("CONNECT");
    byte first = b[t];
    if (first == '/' && !connect) {
      int q = t;
      while (q < end && b[q] != '?') {
        q++;
      }
      String path = path(b, t, q);
      String query = q < end ? queryMemo.of(b, q + 1, end, null) : null;
      request.startLine(method, query == null ? path : null, path, query, null, version);
      return;
    }
    if (end - t == 1 && first == '*') {
      if (!method.equals("OPTIONS")) {
        throw Http1ParseException.badRequest("request-target '*' is only allowed for OPTIONS");
      }
      request.startLine(method, "*", "*", null, null, version);
      return;
    }
    String target = new String(b, t, end - t, StandardCharsets.ISO_8859_1);
    if (connect) {
      checkAuthority(target, true, "CONNECT request-target");
      request.startLine(method, target, target, null, null, version);
      return;
    }
    int afterScheme = schemeEnd(target);
    if (afterScheme < 0) {
      throw Http1ParseException.badRequest("request-target is neither origin-form (/path) nor absolute-form (http://host/path)");
    }
    int pathStart = afterScheme;
    while (pathStart < target.length() && target.charAt(pathStart) != '/' && target.charAt(pathStart) != '?') {
      pathStart++;
    }
    String authority = target.substring(afterScheme, pathStart);
    checkAuthority(authority, false, "request-target authority");
    int q = target.indexOf('?', pathStart);
    String path = q < 0 ? target.substring(pathStart) : target.substring(pathStart, q);
    if (path.isEmpty()) {
      path = "/";
    }
    String query = q < 0 ? null : target.substring(q + 1);
    request.startLine(method, target, path, query, authority, version);
  }

  /** Index after "http://" or "https://" (scheme case-insensitive), or -1. */
  private static int schemeEnd(String target) {
    if (target.regionMatches(true, 0, "http://", 0, 7)) {
      return 7;
    }
    if (target.regionMatches(true, 0, "https://", 0, 8)) {
      return 8;
    }
    return -1;
  }

  private static void checkAuthority(String authority, boolean needPort, String what) throws Http1ParseException {
    if (authority.isEmpty()) {
      throw Http1ParseException.badRequest(what + " has an empty authority");
    }
    for (int i = 0; i < authority.length(); i++) {
      if (!Http1Bytes.isHostChar(authority.charAt(i))) {
        throw Http1ParseException.badRequest(what + " holds '" + authority.charAt(i) + "', not allowed in host[:port]");
      }
    }
    if (needPort) {
      int colon = authority.lastIndexOf(':');
      if (colon < 0 || colon == authority.length() - 1 || authority.indexOf(']', colon) >= 0) {
        throw Http1ParseException.badRequest(what + " must be host:port");
      }
      for (int i = colon + 1; i < authority.length(); i++) {
        if (authority.charAt(i) < '0' || authority.charAt(i) > '9') {
          throw Http1ParseException.badRequest(what + " has a non-numeric port");
        }
      }
    }
  }

  private String path(byte[] b, int from, int to) {
    return pathMemo.of(b, from, to, null);
  }

  private static final String[] METHODS = {"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"};
  private static final byte[][] METHOD_BYTES = new byte[METHODS.length][];

  static {
    for (int i = 0; i < METHODS.length; i++) {
      METHOD_BYTES[i] = METHODS[i].getBytes(StandardCharsets.ISO_8859_1);
    }
  }

  /** The interned String of a standard method, so that the common case allocates nothing. */
  private static String method(byte[] b, int from, int to) {
    int len = to - from;
    for (int i = 0; i < METHODS.length; i++) {
      byte[] m = METHOD_BYTES[i];
      if (m.length == len && m[0] == b[from] && java.util.Arrays.equals(b, from, to, m, 0, len)) {
        return METHODS[i];
      }
    }
    return new String(b, from, len, StandardCharsets.ISO_8859_1);
  }

  @Override
  long finishHead() throws Http1ParseException {
    Http1Request r = request;
    Http1Headers h = r.headers();
    Http1Version version = r.version();
    int host = h.indexOf("host", 0);
    if (host >= 0 && h.indexOf("host", host + 1) >= 0) {
      throw Http1ParseException.badRequest("multiple Host headers");
    }
    if (host < 0 && version == Http1Version.HTTP_1_1) {
      throw Http1ParseException.badRequest("missing Host header in an HTTP/1.1 request");
    }
    if (host >= 0) {
      String v = h.value(host);
      for (int i = 0; i < v.length(); i++) {
        if (!Http1Bytes.isHostChar(v.charAt(i))) {
          throw Http1ParseException.badRequest("Host header holds '" + v.charAt(i) + "', not allowed in host[:port]");
        }
      }
    }
    if (r.targetAuthority() != null) {
      // RFC 9112 §3.2.2: the target's authority wins over Host; forward one consistent value.
      h.set("Host", r.targetAuthority());
    }
    long framing = Http1Framing.parse(h, version);
    boolean chunked = framing == BODY_CHUNKED;
    long length = chunked ? -1 : Math.max(framing, 0);
    boolean close = h.containsToken("connection", "close");
    boolean keepAlive = version == Http1Version.HTTP_1_1
        ? !close
        : !close && h.containsToken("connection", "keep-alive");
    boolean http11 = version == Http1Version.HTTP_1_1;
    String expect = http11 ? h.get("expect") : null;
    boolean expectContinue = expect != null && expect.equalsIgnoreCase("100-continue");
    boolean upgrade = http11 && h.contains("upgrade") && h.containsToken("connection", "upgrade");
    r.framing(length, framing >= 0, chunked, keepAlive, expectContinue, upgrade);
    return chunked ? BODY_CHUNKED : length;
  }
}
