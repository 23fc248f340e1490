package io.keelson.dataplane.http2;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http2.HttpConversionUtil.ExtensionHeaderNames;
import java.util.Locale;

/**
 * RFC 8441's extended CONNECT ({@code :method CONNECT} with {@code :protocol}) seen as Envoy's HTTP/2 codec sees it: an
 * upgrade. Netty's HTTP/2-to-HTTP/1 conversion keeps {@code :protocol} and {@code :path} of a CONNECT as
 * {@code x-http2-protocol} / {@code x-http2-path}; {@link #asUpgrade} turns such a request into the HTTP/1.1 form
 * Envoy routes and forwards (GET {@code :path} with {@code Upgrade: <protocol>} and {@code Connection: upgrade}), so
 * that routes, filters and upgrade_configs treat it as they treat an HTTP/1.1 upgrade. Stateless.
 */
final class ExtendedConnect {
  private static final String PROTOCOL = ExtensionHeaderNames.PROTOCOL.text().toString();
  private static final String PATH = ExtensionHeaderNames.PATH.text().toString();

  private ExtendedConnect() {}

  /** The upgrade type (lower case) of an extended CONNECT, else null (any other request, classic CONNECT included). */
  static String protocol(HttpRequest request) {
    if (!HttpMethod.CONNECT.equals(request.method())) {
      return null;
    }
    String protocol = request.headers().get(PROTOCOL);
    return protocol == null ? null : protocol.trim().toLowerCase(Locale.ROOT);
  }

  /** The extended CONNECT {@code request} (whose {@link #protocol} is {@code type}) as an HTTP/1.1 upgrade GET. */
  static HttpRequest asUpgrade(HttpRequest request, String type) {
    HttpHeaders h = request.headers();
    String path = h.get(PATH);
    h.remove(PROTOCOL);
    h.remove(PATH);
    restoreUpgradeHeaders(h, type);
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path == null ? "/" : path, h);
  }

  /**
   * The HTTP/1.1 upgrade of a WebSocket needs RFC 6455's key exchange, which RFC 8441 clients do not make: a
   * {@code Sec-WebSocket-Key} (and version 13) is added when the client sent none, so that an RFC 6455 server accepts
   * the GET (what Envoy's pending change for issue 8547 does; released Envoy forwards the GET without one).
   *
   * @return the {@code Sec-WebSocket-Accept} the server's 101 must carry for the key added, or null when none was
   */
  static String completeWebSocketHandshake(HttpHeaders h, String type) {
    if (!"websocket".equals(type) || h.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
      return null;
    }
    byte[] nonce = new byte[16];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(nonce);
    String key = java.util.Base64.getEncoder().encodeToString(nonce);
    h.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, key);
    if (!h.contains(HttpHeaderNames.SEC_WEBSOCKET_VERSION)) {
      h.set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
    }
    return Http2Upgrade.accept(key);
  }

  /**
   * The upgrade {@code request} (forwarding rules applied) as the HEADERS of an extended CONNECT to an HTTP/2 upstream
   * (no END_STREAM): {@code :method CONNECT}, {@code :protocol type}, {@code :scheme}, {@code :path},
   * {@code :authority}; RFC 6455's key is not sent (RFC 8441 §5 supersedes it).
   */
  static Http2HeadersFrame toHttp2(HttpRequest request, String type, boolean tls) {
    request.headers().set(ExtensionHeaderNames.SCHEME.text(), tls ? "https" : "http"); // the conversion's :scheme
    Http2Headers h = HttpConversionUtil.toHttp2Headers(request, false);
    h.method(HttpMethod.CONNECT.asciiName());
    h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), type);
    h.remove(HttpHeaderNames.SEC_WEBSOCKET_KEY);
    for (ExtensionHeaderNames n : ExtensionHeaderNames.values()) {
      h.remove(n.text());
    }
    return new DefaultHttp2HeadersFrame(h, false);
  }

  /** Puts back the hop-by-hop headers of an upgrade that the forwarding rules removed. */
  static void restoreUpgradeHeaders(HttpHeaders h, String type) {
    h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    h.set(HttpHeaderNames.UPGRADE, type);
  }
}
