package io.keelson.dataplane.intercept;

import io.netty.buffer.ByteBuf;

/**
 * What the first bytes of a connection say about its application protocol, as Envoy's
 * {@code envoy.filters.listener.http_inspector} reads them: the HTTP/2 prior-knowledge preface is {@code h2c}; an
 * HTTP/1.x request line ({@code METHOD SP request-target SP HTTP/1.0|1.1 CRLF}) is {@code http/1.0} or
 * {@code http/1.1}; any byte that cannot continue either is {@linkplain #NONE none}. Reads at most
 * {@value #MAX_INSPECT_BYTES} bytes (Envoy's bound): a longer request line is none. Stateless; reads the buffer in
 * place, without moving its indexes or allocating.
 */
final class HttpRequestPreface {
  /** Envoy's http_inspector inspects at most this many bytes. */
  static final int MAX_INSPECT_BYTES = 8192;

  static final String HTTP10 = "http/1.0";
  static final String HTTP11 = "http/1.1";
  static final String H2C = "h2c";
  /** The bytes cannot be HTTP: no application protocol. */
  static final String NONE = "";
  /** The bytes so far could still be HTTP: read more. */
  static final String NEED_MORE = null;

  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final byte[] HTTP1 = "HTTP/1.".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private HttpRequestPreface() {}

  /** The protocol the readable bytes of {@code in} show: one of the constants, {@link #NEED_MORE} when they do not tell yet. */
  static String detect(ByteBuf in) {
    int start = in.readerIndex();
    int end = start + Math.min(in.readableBytes(), MAX_INSPECT_BYTES);
    int n = end - start;
    int preface = Math.min(n, H2_PREFACE.length);
    boolean h2 = true;
    for (int i = 0; i < preface && h2; i++) {
      h2 = in.getByte(start + i) == H2_PREFACE[i];
    }
    if (h2) {
      return n >= H2_PREFACE.length ? H2C : NEED_MORE;
    }
    String http1 = requestLine(in, start, end);
    return http1 == NEED_MORE && in.readableBytes() >= MAX_INSPECT_BYTES ? NONE : http1;
  }

  /** An HTTP/1.x request line in {@code [start, end)}: its version, {@link #NONE}, or {@link #NEED_MORE}. */
  private static String requestLine(ByteBuf in, int start, int end) {
    int i = start;
    while (i < end && isTokenChar(in.getByte(i))) { // method
      i++;
    }
    if (i == end) {
      return NEED_MORE;
    }
    if (i == start || in.getByte(i) != ' ') {
      return NONE;
    }
    int target = ++i;
    while (i < end && isTargetChar(in.getByte(i))) {
      i++;
    }
    if (i == end) {
      return NEED_MORE;
    }
    if (i == target || in.getByte(i) != ' ') {
      return NONE;
    }
    i++;
    for (byte b : HTTP1) {
      if (i == end) {
        return NEED_MORE;
      }
      if (in.getByte(i++) != b) {
        return NONE;
      }
    }
    if (i == end) {
      return NEED_MORE;
    }
    byte minor = in.getByte(i++);
    if (minor != '0' && minor != '1') {
      return NONE;
    }
    if (i == end) {
      return NEED_MORE;
    }
    byte b = in.getByte(i++);
    if (b == '\r') {
      if (i == end) {
        return NEED_MORE;
      }
      b = in.getByte(i);
    }
    if (b != '\n') {
      return NONE;
    }
    return minor == '0' ? HTTP10 : HTTP11;
  }

  /** RFC 9110 tchar: a method's characters. */
  private static boolean isTokenChar(byte b) {
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || "!#$%&'*+-.^_`|~".indexOf(b) >= 0;
  }

  /** A request-target's characters: visible ASCII (no space, no control, nothing above 0x7E). */
  private static boolean isTargetChar(byte b) {
    return b > 0x20 && b < 0x7F;
  }
}
