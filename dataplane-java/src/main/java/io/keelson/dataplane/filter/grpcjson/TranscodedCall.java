package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.DynamicMessage;

/**
 * A request the gRPC-JSON transcoder mapped to a gRPC method: the binding, the message its path variables and query
 * parameters make, the path the client sent (for {@code x-envoy-original-path}), and once {@link RequestBodyCheck}
 * has read the body, the whole request message. The upstream stream's {@link GrpcJsonUpstreamCodec} acts on it.
 * One per transcoded request; the message is written once on the connection's event loop before the request is
 * forwarded, and read by every try after.
 */
public final class TranscodedCall {
  private final TranscoderSettings settings;
  private final MethodBinding binding;
  private final DynamicMessage bound;
  private final String originalPath;
  private volatile byte[] message;

  TranscodedCall(TranscoderSettings settings, MethodBinding binding, DynamicMessage bound, String originalPath) {
    this.settings = settings;
    this.binding = binding;
    this.bound = bound;
    this.originalPath = originalPath;
  }

  TranscoderSettings settings() {
    return settings;
  }

  MethodBinding binding() {
    return binding;
  }

  /** The message the bindings alone make. */
  DynamicMessage bound() {
    return bound;
  }

  String originalPath() {
    return originalPath;
  }

  /** The request message built from the checked body, or null when no body was checked. */
  byte[] message() {
    return message;
  }

  void message(byte[] bytes) {
    message = bytes;
  }

  boolean serverStreaming() {
    return binding.method().isServerStreaming();
  }
}
