package io.keelson.dataplane.accesslog;

/**
 * The gRPC status of a logged exchange as Envoy's {@code Grpc::Common::getGrpcStatus(trailers, headers, info)} reads
 * it: the response's grpc-status (trailers before headers), else the status inferred from the HTTP status
 * ({@code Grpc::Utility::httpToGrpcStatus}), else none. Stateless; allocates nothing.
 */
final class GrpcStatusOf {
  static final int NONE = -1;
  static final int UNKNOWN = 2;

  private GrpcStatusOf() {}

  /** {@link #of}, UNKNOWN without a response (Envoy's grpc_status_filter). */
  static int orUnknown(AccessLogRecord r) {
    int s = of(r);
    return s == NONE ? UNKNOWN : s;
  }

  /** The status number (an unparsable grpc-status is UNKNOWN), or {@link #NONE} without a response. */
  static int of(AccessLogRecord r) {
    String s = r.grpcStatus;
    if (s != null) {
      int v = 0;
      if (s.isEmpty() || s.length() > 9) {
        return UNKNOWN;
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c < '0' || c > '9') {
          return UNKNOWN;
        }
        v = v * 10 + (c - '0');
      }
      return v;
    }
    if (r.status <= 0) {
      return NONE;
    }
    return switch (r.status) {
      case 400 -> 13; // INTERNAL
      case 401 -> 16; // UNAUTHENTICATED
      case 403 -> 7; // PERMISSION_DENIED
      case 404 -> 12; // UNIMPLEMENTED
      case 429, 502, 503, 504 -> 14; // UNAVAILABLE
      default -> UNKNOWN;
    };
  }
}
