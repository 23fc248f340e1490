package io.keelson.dataplane.http1.codec;

import java.nio.charset.StandardCharsets;

/**
 * Parses one field line ({@code name ":" OWS value OWS}, RFC 9112 §5) into a header list, with the
 * strict checks against smuggling: no obs-fold, no whitespace before the colon, token names, no
 * control bytes in values. Common names are taken from a table of Strings instead of allocating,
 * and the values of the previous message on the connection are reused when identical (keep-alive
 * clients send the same User-Agent, Accept, ... every time). Owned by one parser; not thread-safe.
 */
final class Http1FieldParser {
  private static final String[] COMMON_NAMES = {
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset", "Connection",
    "Content-Length", "Content-Type", "Content-Encoding", "Cookie", "Set-Cookie", "Transfer-Encoding",
    "Cache-Control", "Pragma", "Referer", "Origin", "Authorization", "Upgrade", "Expect", "Date", "Server",
    "Keep-Alive", "Location", "Vary", "ETag", "Last-Modified", "If-None-Match", "If-Modified-Since", "Range",
    "Accept-Ranges", "TE", "Trailer", "Via", "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto",
    "X-Forwarded-Host", "X-Request-Id", "X-Real-IP", "Proxy-Connection", "Proxy-Authorization", "Expires",
    "Access-Control-Allow-Origin", "Strict-Transport-Security", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
    "Sec-WebSocket-Accept", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Upgrade-Insecure-Requests",
    "Traceparent", "Tracestate", "X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled", "X-Version", "Grpc-Status",
    "Grpc-Message",
  };
  /** Interned names by length, both as commonly capitalised and in lower case (HTTP/2-style clients). */
  private static final String[][] BY_LENGTH;
  private static final byte[][][] BYTES_BY_LENGTH;

  static {
    int maxLen = 0;
    for (String n : COMMON_NAMES) {
      maxLen = Math.max(maxLen, n.length());
    }
    java.util.List<java.util.List<String>> buckets = new java.util.ArrayList<>();
    for (int i = 0; i <= maxLen; i++) {
      buckets.add(new java.util.ArrayList<>());
    }
    for (String n : COMMON_NAMES) {
      buckets.get(n.length()).add(n);
      String lower = Http1Headers.asciiLower(n);
      if (!lower.equals(n)) {
        buckets.get(n.length()).add(lower);
      }
    }
    BY_LENGTH = new String[maxLen + 1][];
    BYTES_BY_LENGTH = new byte[maxLen + 1][][];
    for (int i = 0; i <= maxLen; i++) {
      BY_LENGTH[i] = buckets.get(i).toArray(new String[0]);
      BYTES_BY_LENGTH[i] = new byte[BY_LENGTH[i].length][];
      for (int j = 0; j < BY_LENGTH[i].length; j++) {
        BYTES_BY_LENGTH[i][j] = BY_LENGTH[i][j].getBytes(StandardCharsets.ISO_8859_1);
      }
    }
  }

  /** Values of the previous head, by field index: reused when the same field carries the same bytes. */
  private final Latin1Memo[] values = new Latin1Memo[32];

  /** Parses b[from, to) and appends the field to {@code into}; {@code what} is "header" or "trailer". */
  void parseField(Http1Headers into, byte[] b, int from, int to, String what) throws Http1ParseException {
    byte first = b[from];
    if (Http1Bytes.isOws(first)) {
      throw Http1ParseException.badRequest(
          "obs-fold or whitespace at the start of a " + what + " line at offset " + from);
    }
    int colon = Http1Bytes.skipToken(b, from, to);
    if (colon == to) {
      throw Http1ParseException.badRequest(what + " line without a colon at offset " + from);
    }
    byte c = b[colon];
    if (c != ':') {
      if (Http1Bytes.isOws(c)) {
        throw Http1ParseException.badRequest("whitespace between " + what + " name and colon at offset " + colon);
      }
      throw Http1ParseException.badRequest(
          what + " name contains invalid byte " + Http1Bytes.hex(c) + " at offset " + colon);
    }
    if (colon == from) {
      throw Http1ParseException.badRequest("empty " + what + " name at offset " + from);
    }
    int v = colon + 1;
    while (v < to && Http1Bytes.isOws(b[v])) {
      v++;
    }
    int e = to;
    while (e > v && Http1Bytes.isOws(b[e - 1])) {
      e--;
    }
    int bad = Http1Bytes.firstNonFieldChar(b, v, e);
    if (bad < e) {
      throw Http1ParseException.badRequest(
          what + " value contains invalid byte " + Http1Bytes.hex(b[bad]) + " at offset " + bad);
    }
    String name = name(b, from, colon);
    into.addTrusted(name, value(into.size(), name, b, v, e));
  }

  private static String name(byte[] b, int from, int to) {
    int len = to - from;
    if (len < BY_LENGTH.length) {
      byte[][] candidates = BYTES_BY_LENGTH[len];
      byte first = b[from];
      byte last = b[to - 1];
      for (int i = 0; i < candidates.length; i++) {
        byte[] c = candidates[i];
        if (c[0] == first && c[len - 1] == last && java.util.Arrays.equals(c, 0, len, b, from, to)) {
          return BY_LENGTH[len][i];
        }
      }
    }
    return new String(b, from, len, StandardCharsets.ISO_8859_1);
  }

  private String value(int index, String name, byte[] b, int from, int to) {
    if (index >= values.length) {
      return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }
    // Tagged with the (interned) name: the same field at the same position, same bytes.
    Latin1Memo memo = values[index];
    if (memo == null) {
      memo = new Latin1Memo();
      values[index] = memo;
    }
    return memo.of(b, from, to, name);
  }
}
