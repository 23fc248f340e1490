package io.keelson.dataplane.filter.grpcweb;

/**
 * The proxy's own answer to a gRPC-Web call, as Envoy sends it (a gRPC trailers-only reply that the grpc_web filter
 * re-labels): HTTP 200, content-type {@code application/grpc-web(-text)+proto}, grpc-status from why the proxy
 * answered, grpc-message the percent-encoded reply body, no body. Stateless.
 */
public final class GrpcWebLocalReplies {
  private GrpcWebLocalReplies() {}

  /** The response content-type for the grpc_web filter's {@code mode}. */
  public static String contentType(int mode) {
    return (mode & GrpcWebFilter.TEXT_RESPONSE) != 0 ? GrpcWebUpstreamCodec.GRPC_WEB_TEXT_PROTO : GrpcWebUpstreamCodec.GRPC_WEB_PROTO;
  }

  /** The header lines ({@code name: value\r\n}) of the reply of {@code grpcStatus}, for a 200 with an empty body. */
  public static String headerLines(int mode, int grpcStatus, byte[] body) {
    String message = GrpcWebFrames.percentEncode(io.netty.buffer.Unpooled.wrappedBuffer(body));
    return "content-type: " + contentType(mode) + "\r\ngrpc-status: " + grpcStatus + "\r\n"
        + (message.isEmpty() ? "" : "grpc-message: " + message + "\r\n");
  }
}
