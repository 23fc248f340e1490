package io.keelson.dataplane.filter.grpcjson;

import io.keelson.dataplane.route.RequestHead;

/**
 * A transcoded request's head as the filters after the transcoder and the route chosen again see it, as Envoy's
 * transcoder rewrites the headers: {@code POST /pkg.Service/Method}, no query, content-type {@code application/grpc}.
 * Immutable.
 */
final class TranscodedHead implements RequestHead {
  private final RequestHead base;
  private final String grpcPath;

  TranscodedHead(RequestHead base, String grpcPath) {
    this.base = base;
    this.grpcPath = grpcPath;
  }

  @Override
  public String method() {
    return "POST";
  }

  @Override
  public String path() {
    return grpcPath;
  }

  @Override
  public String query() {
    return null;
  }

  @Override
  public String authority() {
    return base.authority();
  }

  @Override
  public String scheme() {
    return base.scheme();
  }

  @Override
  public String header(String lowerCaseName) {
    return switch (lowerCaseName) {
      case "content-type" -> "application/grpc";
      case "content-length" -> null;
      case "te" -> "trailers";
      default -> base.header(lowerCaseName);
    };
  }
}
