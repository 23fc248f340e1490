package io.keelson.dataplane.http1.codec;

import io.keelson.dataplane.route.RequestHead;
import io.netty.buffer.ByteBuf;

/**
 * A request head: request line, headers and the body framing the parser derived from them.
 * Mutable and reused by {@link Http1RequestParser} for the next request of the connection (see
 * {@link Http1Listener#onHead}); owned by one event loop at a time, not thread-safe.
 */
public final class Http1Request implements RequestHead {

  private String method = "GET";
  private String uri;
  private String path = "/";
  private String query;
  private String targetAuthority;
  private Http1Version version = Http1Version.HTTP_1_1;
  private final Http1Headers headers = new Http1Headers();
  private long contentLength;
  private boolean lengthDeclared;
  private boolean chunked;
  private boolean keepAlive = true;
  private boolean expectContinue;
  private boolean upgrade;
  private String scheme = "http";

  /** An empty {@code GET / HTTP/1.1} head, for requests the proxy builds itself. */
  public Http1Request() {}

  @Override
  public String method() {
    return method;
  }

  /** The request-target as sent (origin-form {@code /p?q}, absolute-form, authority-form or {@code *}). */
  public String uri() {
    if (uri == null) {
      uri = query == null ? path : path + '?' + query;
    }
    return uri;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String query() {
    return query;
  }

  public Http1Version version() {
    return version;
  }

  public Http1Headers headers() {
    return headers;
  }

  /**
   * The Host header. For an absolute-form target the parser has already replaced Host with the
   * target's authority (RFC 9112 §3.2.2); for CONNECT it is the Host header too (the target is
   * {@link #path()}).
   */
  @Override
  public String authority() {
    return headers.get("host");
  }

  @Override
  public String header(String lowerCaseName) {
    return headers.getAll(lowerCaseName);
  }

  /** {@code https} when {@link #secure} said the connection is TLS, else {@code http} (Envoy's HTTP/1 {@code :scheme}). */
  @Override
  public String scheme() {
    return scheme;
  }

  /** Whether the downstream connection this request came on is TLS: its {@link #scheme()}. */
  public Http1Request secure(boolean tls) {
    scheme = tls ? "https" : "http";
    return this;
  }

  /** The body length when fixed (0 when the request has no body), -1 when chunked. */
  public long contentLength() {
    return contentLength;
  }

  public boolean chunked() {
    return chunked;
  }

  /** Whether the body length came with a Content-Length field (possibly 0), not from its absence. */
  public boolean lengthDeclared() {
    return lengthDeclared;
  }

  /**
   * The whole body, {@code length} bytes, was read before forwarding (envoy.filters.http.buffer): it goes on with a
   * content-length, not chunked.
   */
  public void bodyBuffered(long length) {
    chunked = false;
    contentLength = length;
    lengthDeclared = true;
    headers().set("content-length", Long.toString(length));
  }

  /** A filter transforms the body (compressor, decompressor): its length changes, so it goes on chunked. */
  public void bodyCoded() {
    chunked = true;
    contentLength = -1;
    headers().remove("content-length");
  }

  /** Whether the client wants the connection kept after this exchange (version and Connection header). */
  public boolean keepAlive() {
    return keepAlive;
  }

  /** {@code Expect: 100-continue} on an HTTP/1.1 request. */
  public boolean expectContinue() {
    return expectContinue;
  }

  /** {@code Connection: upgrade} together with an {@code Upgrade} header. */
  public boolean upgrade() {
    return upgrade;
  }

  /** True when the request-target was in absolute-form ({@code http://host/path}). */
  public boolean absoluteForm() {
    return targetAuthority != null;
  }

  /** Replaces the path (e.g. a prefix rewrite), keeping the query. */
  public Http1Request setPath(String newPath) {
    normalizedPath(newPath);
    targetAuthority = null;
    return this;
  }

  /**
   * Replaces the path with its normalized form (the connection manager's path normalization), keeping the query and
   * the form of the request-target.
   */
  public void normalizedPath(String newPath) {
    if (newPath == null || newPath.isEmpty()) {
      throw new IllegalArgumentException("path must not be empty");
    }
    for (int i = 0; i < newPath.length(); i++) {
      char c = newPath.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '#' || c == '?') {
        throw new IllegalArgumentException("path holds a byte not allowed in a request-target: " + (int) c);
      }
    }
    path = newPath;
    uri = null;
  }

  /** Replaces the method (upper-case token). */
  public Http1Request setMethod(String newMethod) {
    if (!Http1Bytes.isTcharString(newMethod)) {
      throw new IllegalArgumentException("method is not a token: '" + newMethod + "'");
    }
    method = newMethod;
    return this;
  }

  /**
   * Writes {@code METHOD target HTTP/1.1\r\n}, the headers and the empty line. The target is the
   * origin-form {@code path[?query]} (an absolute-form target is sent upstream in origin-form), or
   * the target as sent for {@code *} and CONNECT.
   */
  public void encodeTo(ByteBuf out) {
    int length = method.length() + path.length() + (query == null ? 0 : query.length() + 1) + 12
        + headers.encodedLength() + 2;
    byte[] b = Latin1Scratch.array(length);
    int p = Latin1Scratch.put(method, b, 0);
    b[p++] = ' ';
    p = Latin1Scratch.put(path, b, p);
    if (query != null) {
      b[p++] = '?';
      p = Latin1Scratch.put(query, b, p);
    }
    b[p++] = ' ';
    System.arraycopy(Http1Version.HTTP_1_1.bytes(), 0, b, p, 8);
    p = Latin1Scratch.putCrlf(b, p + 8);
    p = headers.encodeTo(b, p);
    p = Latin1Scratch.putCrlf(b, p);
    Latin1Scratch.flush(b, p, out);
  }

  /** A detached copy, for a listener that must keep the head after resume(). */
  public Http1Request copy() {
    Http1Request c = new Http1Request();
    c.method = method;
    c.uri = uri;
    c.path = path;
    c.query = query;
    c.targetAuthority = targetAuthority;
    c.version = version;
    c.headers.copyFrom(headers);
    c.contentLength = contentLength;
    c.lengthDeclared = lengthDeclared;
    c.chunked = chunked;
    c.keepAlive = keepAlive;
    c.expectContinue = expectContinue;
    c.upgrade = upgrade;
    c.scheme = scheme;
    return c;
  }

  @Override
  public String toString() {
    return method + ' ' + uri() + ' ' + version + ' ' + headers;
  }

  // ---- set by the parser ---------------------------------------------------------------------

  void startLine(String method, String uri, String path, String query, String targetAuthority, Http1Version version) {
    this.method = method;
    this.uri = uri;
    this.path = path;
    this.query = query;
    this.targetAuthority = targetAuthority;
    this.version = version;
    headers.clear();
  }

  String targetAuthority() {
    return targetAuthority;
  }

  void framing(long contentLength, boolean lengthDeclared, boolean chunked, boolean keepAlive, boolean expectContinue,
      boolean upgrade) {
    this.contentLength = contentLength;
    this.lengthDeclared = lengthDeclared;
    this.chunked = chunked;
    this.keepAlive = keepAlive;
    this.expectContinue = expectContinue;
    this.upgrade = upgrade;
  }
}
