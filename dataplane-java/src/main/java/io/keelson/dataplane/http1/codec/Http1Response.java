package io.keelson.dataplane.http1.codec;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * A response head: status line, headers and the body framing the parser derived from them (and
 * from the request method it was told about). Mutable and reused by {@link Http1ResponseParser}
 * (see {@link Http1Listener#onHead}); owned by one event loop at a time, not thread-safe.
 */
public final class Http1Response {
  private static final byte[] HTTP11_SP = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

  private Http1Version version = Http1Version.HTTP_1_1;
  private int status = 200;
  private String reason = "OK";
  private final Http1Headers headers = new Http1Headers();
  private long contentLength;
  private boolean chunked;
  private boolean untilClose;
  private boolean keepAlive = true;

  /** A {@code 200 OK} head with no headers, for responses the proxy builds itself. */
  public Http1Response() {}

  public Http1Version version() {
    return version;
  }

  public int status() {
    return status;
  }

  /** The reason phrase as sent (may be empty). */
  public String reason() {
    return reason;
  }

  public Http1Headers headers() {
    return headers;
  }

  /** The body length when fixed (0 for 1xx, 204, 304, responses to HEAD), -1 when chunked or until close. */
  public long contentLength() {
    return contentLength;
  }

  public boolean chunked() {
    return chunked;
  }

  /** The body has no framing and ends when the upstream closes (HTTP/1.0 style). */
  public boolean untilClose() {
    return untilClose;
  }

  /** Whether the upstream connection may be reused after this response. */
  public boolean keepAlive() {
    return keepAlive;
  }

  /** True for 1xx responses other than 101: a final response follows on the same exchange. */
  public boolean informational() {
    return status >= 100 && status < 200 && status != 101;
  }

  /** Sets the status line; the reason must hold only field characters. */
  public Http1Response setStatus(int newStatus, String newReason) {
    if (newStatus < 100 || newStatus > 999) {
      throw new IllegalArgumentException("status must have 3 digits: " + newStatus);
    }
    if (newReason == null || !Http1Bytes.isFieldString(newReason)) {
      throw new IllegalArgumentException("reason phrase holds a control or non-Latin-1 char");
    }
    status = newStatus;
    reason = newReason;
    return this;
  }

  /** The body was replaced by one of {@code length} bytes (a filter's): framed by a content-length from now on. */
  public void bodyReplaced(long length) {
    contentLength = length;
    chunked = false;
    untilClose = false;
    headers.remove("transfer-encoding");
    headers.set("content-length", Long.toString(length));
  }

  /** Writes {@code HTTP/1.1 status reason\r\n}, the headers and the empty line. */
  public void encodeTo(ByteBuf out) {
    int length = 9 + 4 + reason.length() + 2 + headers.encodedLength() + 2;
    byte[] b = Latin1Scratch.array(length);
    System.arraycopy(HTTP11_SP, 0, b, 0, 9);
    b[9] = (byte) ('0' + status / 100);
    b[10] = (byte) ('0' + status / 10 % 10);
    b[11] = (byte) ('0' + status % 10);
    b[12] = ' ';
    int p = Latin1Scratch.put(reason, b, 13);
    p = Latin1Scratch.putCrlf(b, p);
    p = headers.encodeTo(b, p);
    p = Latin1Scratch.putCrlf(b, p);
    Latin1Scratch.flush(b, p, out);
  }

  /** A detached copy, for a listener that must keep the head after resume(). */
  public Http1Response copy() {
    Http1Response c = new Http1Response();
    c.version = version;
    c.status = status;
    c.reason = reason;
    c.headers.copyFrom(headers);
    c.contentLength = contentLength;
    c.chunked = chunked;
    c.untilClose = untilClose;
    c.keepAlive = keepAlive;
    return c;
  }

  @Override
  public String toString() {
    return version + " " + status + ' ' + reason + ' ' + headers;
  }

  void statusLine(Http1Version version, int status, String reason) {
    this.version = version;
    this.status = status;
    this.reason = reason;
    headers.clear();
  }

  void framing(long contentLength, boolean chunked, boolean untilClose, boolean keepAlive) {
    this.contentLength = contentLength;
    this.chunked = chunked;
    this.untilClose = untilClose;
    this.keepAlive = keepAlive;
  }
}
