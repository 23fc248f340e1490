package io.keelson.dataplane.filter.grpcweb;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;

/**
 * Envoy's gRPC-Web filter (grpc_web_filter.cc), request side: a request with a path and content-type
 * {@code application/grpc-web}, {@code application/grpc-web+proto}, {@code application/grpc-web-text} or
 * {@code application/grpc-web-text+proto} (exactly, as Envoy compares) is marked for bridging, with
 * whether its body is base64 ({@code -text}) and whether the client accepts a base64 response (an
 * {@code accept} of one of the two text types). The connection then puts a {@link GrpcWebUpstreamCodec}
 * on the upstream HTTP/2 stream, which rewrites the headers and body both ways. Other requests pass
 * untouched; {@code x-grpc-web} and {@code x-user-agent} are forwarded as they are (Envoy does not
 * read them). Stateless; thread-safe.
 */
public final class GrpcWebFilter implements HttpFilter {
  /** The request is gRPC-Web. */
  public static final int ON = 1;
  /** Its body is base64 ({@code application/grpc-web-text}). */
  public static final int TEXT_REQUEST = 2;
  /** The client asked for a base64 response ({@code accept: application/grpc-web-text}). */
  public static final int TEXT_RESPONSE = 4;

  static final GrpcWebFilter INSTANCE = new GrpcWebFilter();

  private GrpcWebFilter() {}

  @Override
  public void onRequest(FilterContext context) {
    int mode = mode(context.head);
    if (mode != 0) {
      context.grpcWeb(mode);
    }
  }

  /** The flags for a request head, 0 when it is not gRPC-Web. */
  static int mode(RequestHead head) {
    if (head.path() == null) {
      return 0;
    }
    String ct = head.header("content-type");
    if (ct == null) {
      return 0;
    }
    int mode;
    if (ct.equals("application/grpc-web") || ct.equals("application/grpc-web+proto")) {
      mode = ON;
    } else if (ct.equals("application/grpc-web-text") || ct.equals("application/grpc-web-text+proto")) {
      mode = ON | TEXT_REQUEST;
    } else {
      return 0;
    }
    String accept = head.header("accept");
    if (accept != null && (accept.equals("application/grpc-web-text") || accept.equals("application/grpc-web-text+proto"))) {
      mode |= TEXT_RESPONSE;
    }
    return mode;
  }
}
