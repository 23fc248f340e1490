package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.ByteBuffer;

/**
 * A unary gRPC call a filter makes as a side call (ext_authz's Check, the rate limit service's ShouldRateLimit):
 * the request as gRPC frames it over HTTP/2 (one length-prefixed, uncompressed message; {@code grpc-timeout}), sent
 * as a side call ({@link SideCall}), and the answer's message, or null when the answer is not a successful gRPC
 * reply. Stateless.
 */
public final class GrpcUnary {
  private GrpcUnary() {}

  /** The POST of {@code message} to {@code path} (e.g. {@code /pkg.Service/Method}), :authority {@code authority}. */
  public static FullHttpRequest request(String path, String authority, long timeoutNanos, byte[] message) {
    ByteBuf body = Unpooled.buffer(5 + message.length);
    body.writeByte(0).writeInt(message.length).writeBytes(message); // gRPC length-prefixed message, uncompressed
    FullHttpRequest call = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path, body);
    call.headers().set("host", authority).set("content-type", "application/grpc").set("te", "trailers")
        .set("grpc-timeout", Math.max(1, timeoutNanos / 1_000_000) + "m")
        .set("content-length", Integer.toString(body.readableBytes()));
    return call;
  }

  /**
   * The answer's message (positioned at its first byte), or null when the answer is not a gRPC OK (HTTP status,
   * grpc-status in the trailers or a trailers-only answer) with exactly one uncompressed message.
   */
  public static ByteBuffer message(UpstreamCalls.Response response) {
    String grpcStatus = response.trailers().get("grpc-status");
    if (grpcStatus == null) {
      grpcStatus = response.headers().get("grpc-status"); // trailers-only answer
    }
    if (response.status() != 200 || !"0".equals(grpcStatus) || response.body().length < 5) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(response.body());
    byte compressed = b.get();
    int length = b.getInt();
    return compressed != 0 || length != b.remaining() ? null : b;
  }
}
