package io.keelson.dataplane.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTP/1.1 client's upgrade carried to an HTTP/2 upstream as extended CONNECT (RFC 8441): what the client must get
 * back once the upstream answers {@code :status 200}, a {@code 101 Switching Protocols} with, for a WebSocket,
 * RFC 6455's {@code Sec-WebSocket-Accept} for the client's key (the HTTP/2 hop has no key exchange). Immutable.
 */
record Http2Upgrade(String type, String webSocketKey) {
  /** RFC 6455 §1.3's GUID, appended to the key before hashing. */
  private static final String WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

  static Http2Upgrade of(HttpRequest request) {
    return new Http2Upgrade(request.headers().get(HttpHeaderNames.UPGRADE).trim().toLowerCase(Locale.ROOT),
        request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY));
  }

  /**
   * The 101 for the HTTP/1.1 client, as bytes: with the fields of the upstream's {@code answer} (its {@code :status 200}
   * HEADERS) that cross the protocol change ({@link UpgradeAnswer}), e.g. the negotiated subprotocol and extensions.
   */
  ByteBuf switchingProtocols(ByteBufAllocator alloc, HttpHeaders answer) {
    StringBuilder b = new StringBuilder(160).append("HTTP/1.1 101 Switching Protocols\r\nupgrade: ").append(type)
        .append("\r\nconnection: upgrade\r\n");
    if (webSocketKey != null) {
      b.append("sec-websocket-accept: ").append(accept(webSocketKey.trim())).append("\r\n");
    }
    HttpHeaders carried = new DefaultHttpHeaders();
    UpgradeAnswer.copy(answer, carried);
    for (Map.Entry<String, String> e : carried) {
      if (e.getValue().indexOf('\r') < 0 && e.getValue().indexOf('\n') < 0) {
        b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
      }
    }
    byte[] head = b.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    return alloc.buffer(head.length).writeBytes(head);
  }

  /** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)). */
  static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + WEBSOCKET_GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-1", e);
    }
  }
}
