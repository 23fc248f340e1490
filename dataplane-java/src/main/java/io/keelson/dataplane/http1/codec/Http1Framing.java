package io.keelson.dataplane.http1.codec;

/**
 * Message body framing from Content-Length and Transfer-Encoding (RFC 9112 §6), shared by requests
 * and responses, with the checks that keep two parsers from disagreeing on where a message ends.
 * Stateless.
 */
final class Http1Framing {
  private Http1Framing() {}

  /** What {@link #parse} returns when the message has neither Content-Length nor Transfer-Encoding. */
  static final long ABSENT = -1;

  /**
   * Checks the framing headers; returns {@link Http1MessageParser#BODY_CHUNKED}, the
   * Content-Length, or {@link #ABSENT} when neither header is present.
   *
   * <p>Duplicate Content-Length fields (or a list such as {@code 42, 42}) with one identical value
   * are merged into a single field, as RFC 9110 §8.6 allows, so that what is forwarded is
   * unambiguous; different values are rejected.
   */
  static long parse(Http1Headers h, Http1Version version) throws Http1ParseException {
    boolean te = h.contains("transfer-encoding");
    int clIndex = h.indexOf("content-length", 0);
    if (te && clIndex >= 0) {
      throw Http1ParseException.badRequest("both Content-Length and Transfer-Encoding");
    }
    if (te) {
      if (version == Http1Version.HTTP_1_0) {
        throw Http1ParseException.badRequest("Transfer-Encoding in an HTTP/1.0 message");
      }
      checkChunkedLast(h);
      return Http1MessageParser.BODY_CHUNKED;
    }
    if (clIndex < 0) {
      return ABSENT;
    }
    return contentLength(h, clIndex);
  }

  private static void checkChunkedLast(Http1Headers h) throws Http1ParseException {
    boolean chunkedSeen = false;
    String unknown = null;
    for (int i = h.indexOf("transfer-encoding", 0); i >= 0; i = h.indexOf("transfer-encoding", i + 1)) {
      String v = h.value(i);
      int n = v.length();
      int pos = 0;
      while (pos <= n) {
        int comma = v.indexOf(',', pos);
        int end = comma < 0 ? n : comma;
        int s = pos;
        int e = end;
        while (s < e && isOws(v.charAt(s))) {
          s++;
        }
        while (e > s && isOws(v.charAt(e - 1))) {
          e--;
        }
        if (s == e) {
          throw Http1ParseException.badRequest("empty element in Transfer-Encoding");
        }
        if (chunkedSeen) {
          throw Http1ParseException.badRequest("chunked is not the final Transfer-Encoding");
        }
        if (e - s == 7 && v.regionMatches(true, s, "chunked", 0, 7)) {
          chunkedSeen = true;
        } else if (unknown == null) {
          unknown = v.substring(s, e);
        }
        pos = end + 1;
      }
    }
    if (!chunkedSeen) {
      throw Http1ParseException.badRequest("Transfer-Encoding without chunked as the final coding");
    }
    if (unknown != null) {
      throw new Http1ParseException(501, "Transfer-Encoding " + unknown + " is not implemented");
    }
  }

  private static long contentLength(Http1Headers h, int first) throws Http1ParseException {
    long length = -1;
    boolean normalise = false;
    for (int i = first; i >= 0; i = h.indexOf("content-length", i + 1)) {
      String v = h.value(i);
      int n = v.length();
      int pos = 0;
      while (pos <= n) {
        int comma = v.indexOf(',', pos);
        int end = comma < 0 ? n : comma;
        if (comma >= 0) {
          normalise = true;
        }
        int s = pos;
        int e = end;
        while (s < e && isOws(v.charAt(s))) {
          s++;
        }
        while (e > s && isOws(v.charAt(e - 1))) {
          e--;
        }
        long value = digits(v, s, e);
        if (length >= 0 && value != length) {
          throw Http1ParseException.badRequest("Content-Length values differ (" + length + " and " + value + ")");
        }
        length = value;
        pos = end + 1;
      }
      if (i != first) {
        normalise = true;
      }
    }
    if (normalise) {
      String single = Long.toString(length);
      h.setValueAt(first, single);
      for (int i = h.indexOf("content-length", first + 1); i >= 0; i = h.indexOf("content-length", i)) {
        h.removeAt(i);
      }
    }
    return length;
  }

  private static long digits(String v, int s, int e) throws Http1ParseException {
    if (s == e) {
      throw Http1ParseException.badRequest("empty Content-Length");
    }
    long value = 0;
    for (int i = s; i < e; i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        throw Http1ParseException.badRequest("Content-Length is not a non-negative decimal number");
      }
      if (value > (Long.MAX_VALUE - (c - '0')) / 10) {
        throw Http1ParseException.badRequest("Content-Length overflows 63 bits");
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }
}
