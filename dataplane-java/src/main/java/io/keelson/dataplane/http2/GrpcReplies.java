package io.keelson.dataplane.http2;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * gRPC's side of the proxy's own answers: a failed call gets HTTP 200, content-type application/grpc
 * and grpc-status / grpc-message in a trailers-only response (one HEADERS frame with END_STREAM), as
 * gRPC clients expect (the grpc-status mappings are public: gRPC-Web replies use the same); and the grpc-timeout
 * request header read as a deadline. Stateless.
 */
public final class GrpcReplies {
  static final int DEADLINE_EXCEEDED = 4;
  static final int PERMISSION_DENIED = 7;
  static final int UNIMPLEMENTED = 12;
  static final int INTERNAL = 13;
  static final int UNAVAILABLE = 14;

  private GrpcReplies() {}

  static boolean isGrpc(HttpRequest request) {
    String ct = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
    return ct != null && ct.regionMatches(true, 0, "application/grpc", 0, 16);
  }

  /** The trailers-only response for a call the proxy failed itself. */
  static FullHttpResponse trailersOnly(int grpcStatus, String message) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
    r.headers().set("grpc-status", Integer.toString(grpcStatus));
    if (!message.isEmpty()) {
      r.headers().set("grpc-message", percentEncode(message));
    }
    return r;
  }

  /**
   * A local reply's body as its grpc-message, as Envoy's sendLocalReply: without the newline a JSON body format ends with.
   */
  static String messageOf(byte[] body) {
    int n = body.length > 0 && body[body.length - 1] == '\n' ? body.length - 1 : body.length;
    return new String(body, 0, n, StandardCharsets.UTF_8);
  }

  /**
   * As {@link #forLocalReply(int, io.keelson.dataplane.stats.ResponseFlag)}, except that a status a local_reply_config
   * mapper {@code rewritten} decides the code (Envoy's httpToGrpcStatus), not why the proxy answered.
   */
  public static int forLocalReply(int status, io.keelson.dataplane.stats.ResponseFlag why, boolean rewritten) {
    return rewritten ? fromHttpStatus(status) : forLocalReply(status, why);
  }

  /** The grpc-status of the proxy's own reply of HTTP {@code status} for response flag {@code why}. */
  public static int forLocalReply(int status, io.keelson.dataplane.stats.ResponseFlag why) {
    return switch (why) {
      case UT -> DEADLINE_EXCEEDED;
      case NR -> UNIMPLEMENTED;
      case UH, UF, UC, UR, NC, LR, UO, URX -> UNAVAILABLE;
      case RBAC -> PERMISSION_DENIED;
      default -> fromHttpStatus(status);
    };
  }

  /** Envoy's Grpc::Utility::httpToGrpcStatus: an HTTP status that came (or was answered) without a grpc-status. */
  public static int fromHttpStatus(int status) {
    return switch (status) {
      case 400 -> INTERNAL;
      case 401 -> 16;
      case 403 -> 7;
      case 404 -> UNIMPLEMENTED;
      case 429, 502, 503, 504 -> UNAVAILABLE;
      default -> 2; // UNKNOWN
    };
  }

  /**
   * The grpc-timeout header ("1*8DIGIT unit", unit one of H M S m u n) in nanoseconds, or 0 when
   * absent or malformed (a malformed value is ignored, as gRPC servers do).
   */
  static long timeoutNanos(String value) {
    if (value == null || value.length() < 2 || value.length() > 9) {
      return 0;
    }
    long n = 0;
    for (int i = 0; i < value.length() - 1; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return 0;
      }
      n = n * 10 + (c - '0');
    }
    long unit = switch (value.charAt(value.length() - 1)) {
      case 'H' -> 3_600_000_000_000L;
      case 'M' -> 60_000_000_000L;
      case 'S' -> 1_000_000_000L;
      case 'm' -> 1_000_000L;
      case 'u' -> 1_000L;
      case 'n' -> 1L;
      default -> 0;
    };
    if (unit == 0) {
      return 0;
    }
    return n > Long.MAX_VALUE / unit ? Long.MAX_VALUE : Math.max(1, n * unit);
  }

  /** gRPC's percent-encoding of grpc-message: printable ASCII except '%' as is, the rest as %XX of UTF-8. */
  static String percentEncode(String message) {
    byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
    StringBuilder b = new StringBuilder(bytes.length);
    for (byte x : bytes) {
      int c = x & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '%') {
        b.append((char) c);
      } else {
        b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return b.toString();
  }
}
