package io.keelson.dataplane.http1;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Responses the proxy makes itself (no route, no healthy upstream, timeouts, bad requests), with
 * Envoy's bodies and status codes so that clients and dashboards see what they would see with Envoy.
 * Stateless.
 */
final class LocalReply {
  static final String NO_HEALTHY_UPSTREAM = "no healthy upstream";
  static final String CONNECT_FAILURE =
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
  static final String RESET_BEFORE_HEADERS =
      "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
  /** Envoy's body when an HTTP/2 upstream reset the stream with REFUSED_STREAM before the response (flag UR). */
  static final String REFUSED_STREAM_RESET =
      "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset";
  /** Envoy's body when an HTTP/2 upstream reset the stream with another code before the response (flag UR). */
  static final String REMOTE_RESET =
      "upstream connect error or disconnect/reset before headers. reset reason: remote reset";
  static final String UPSTREAM_TIMEOUT = "upstream request timeout";
  /** Envoy's body for the stream idle timeout (a 408). */
  static final String STREAM_TIMEOUT = "stream timeout";
  /** Envoy's body for a request refused by a circuit breaker. */
  static final String OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
  /** Envoy's header on a reply to a request a circuit breaker refused (flag UO), as an extra header line. */
  static final String OVERLOADED_HEADER = "x-envoy-overloaded: true\r\n";
  static final String CLUSTER_NOT_FOUND = "cluster not found";
  static final String OVERLOADED = "routing pipeline full";
  /** A routing stage (route match, an HTTP filter, the balancer) threw on the request. */
  static final String ROUTING_FAILED = "internal error while routing the request";
  static final String PROTOCOL_ERROR = "upstream sent an invalid HTTP/1.1 response";

  private LocalReply() {}

  /**
   * Encodes a whole response.
   *
   * @param extraHeaders already formatted header lines ("name: value\r\n"), or null
   */
  static ByteBuf encode(ByteBufAllocator alloc, int status, String body, boolean close, String extraHeaders) {
    return encode(alloc, status, body.getBytes(StandardCharsets.UTF_8), close, extraHeaders, null);
  }

  /**
   * Encodes a whole response with an exact body.
   *
   * @param bodyBytes    the body, sent as is (content-length is its length)
   * @param extraHeaders already formatted header lines ("name: value\r\n"), or null
   * @param headers      the reply's own fields (a route reply's location and response_headers_to_add), or
   *                     null; as Envoy, a content-type among them replaces text/plain, while content-length,
   *                     server and the connection headers stay the proxy's
   */
  static ByteBuf encode(ByteBufAllocator alloc, int status, byte[] bodyBytes, boolean close, String extraHeaders,
      Http1Headers headers) {
    return encode(alloc, status, bodyBytes, close, extraHeaders, headers, "text/plain");
  }

  /**
   * Encodes a whole response whose body has {@code contentType} unless its own fields or header lines set one (a
   * local_reply_config body format's type).
   */
  static ByteBuf encode(ByteBufAllocator alloc, int status, byte[] bodyBytes, boolean close, String extraHeaders,
      Http1Headers headers, String contentType) {
    if (headers != null) {
      headers.remove("content-length");
      headers.remove("transfer-encoding");
      headers.remove("server");
      headers.remove("connection");
    }
    StringBuilder head = new StringBuilder(128);
    head.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
    if (bodyBytes.length > 0 && (headers == null || !headers.contains("content-type"))
        && !PolicyVerdicts.hasContentType(extraHeaders)) {
      head.append("content-type: ").append(contentType).append("\r\n");
    }
    head.append("content-length: ").append(bodyBytes.length).append("\r\n");
    head.append("server: keelson\r\n");
    if (headers != null) {
      for (int i = 0; i < headers.size(); i++) {
        head.append(headers.name(i)).append(": ").append(headers.value(i)).append("\r\n");
      }
    }
    if (extraHeaders != null) {
      head.append(extraHeaders);
    }
    if (close) {
      head.append("connection: close\r\n");
    }
    head.append("\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
    ByteBuf out = alloc.buffer(headBytes.length + bodyBytes.length);
    out.writeBytes(headBytes).writeBytes(bodyBytes);
    return out;
  }

  static String reason(int status) {
    return switch (status) {
      case 100 -> "Continue";
      case 200 -> "OK";
      case 201 -> "Created";
      case 204 -> "No Content";
      case 301 -> "Moved Permanently";
      case 302 -> "Found";
      case 303 -> "See Other";
      case 307 -> "Temporary Redirect";
      case 308 -> "Permanent Redirect";
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 408 -> "Request Timeout";
      case 413 -> "Payload Too Large";
      case 429 -> "Too Many Requests";
      case 431 -> "Request Header Fields Too Large";
      case 500 -> "Internal Server Error";
      case 501 -> "Not Implemented";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      default -> "Unknown";
    };
  }
}
