package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Base64;

/**
 * The JSON a transcoded response carries: a response message as the print_options print it, and with
 * convert_grpc_status the error as a {@code google.rpc.Status} (from grpc-status-details-bin, else from grpc-status
 * and grpc-message), as Envoy writes them. Stateless.
 */
final class ResponseJson {
  private ResponseJson() {}

  static String message(TranscoderSettings settings, Descriptor type, byte[] bytes) {
    try {
      return settings.printer().print(DynamicMessage.parseFrom(type, bytes));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the gRPC response is not a " + type.getFullName() + ": " + e.getMessage());
    }
  }

  /** {@code trailers}' error as google.rpc.Status JSON, or null when it cannot be printed (then the status passes as headers). */
  static String status(TranscoderSettings settings, int grpcStatus, HttpHeaders trailers) {
    com.google.rpc.Status status = null;
    String details = trailers.get("grpc-status-details-bin");
    if (details != null) {
      try {
        status = com.google.rpc.Status.parseFrom(Base64.getDecoder().decode(details.strip()));
      } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
        return null;
      }
    }
    if (status == null) {
      String message = trailers.get("grpc-message");
      status = com.google.rpc.Status.newBuilder().setCode(grpcStatus)
          .setMessage(message == null ? "" : PercentDecoding.all(message)).build();
    }
    try {
      return settings.printer().print(status);
    } catch (InvalidProtocolBufferException e) { // a detail type not in the descriptor set
      return null;
    }
  }

  /** The grpc-status in {@code h} (0-16), or -1 when absent or invalid. */
  static int grpcStatus(HttpHeaders h) {
    String s = h.get("grpc-status");
    if (s == null) {
      return -1;
    }
    try {
      int v = Integer.parseInt(s.strip());
      return v >= 0 && v <= 16 ? v : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Envoy's Grpc::Utility::grpcToHttpStatus; an absent or invalid status is 503. */
  static int httpStatus(int grpcStatus) {
    return switch (grpcStatus) {
      case 0 -> 200;
      case 1 -> 499;
      case 3, 9, 11 -> 400;
      case 4 -> 504;
      case 5 -> 404;
      case 6, 10 -> 409;
      case 7 -> 403;
      case 8 -> 429;
      case 12 -> 501;
      case 14 -> 503;
      case 16 -> 401;
      case -1 -> 503;
      default -> 500;
    };
  }
}
