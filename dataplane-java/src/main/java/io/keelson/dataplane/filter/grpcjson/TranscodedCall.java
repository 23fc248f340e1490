package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.FieldDescriptor;

/**
 * A request the gRPC-JSON transcoder mapped to a gRPC method: the binding, the values its path variables and query
 * parameters bind (field path and text, in order: path variables first), and the path the client sent (for
 * {@code x-envoy-original-path}). The upstream stream's {@link GrpcJsonUpstreamCodec} acts on it. Immutable; one per
 * transcoded request.
 */
public record TranscodedCall(TranscoderSettings settings, MethodBinding binding, FieldDescriptor[][] fields, String[] values,
    String originalPath) {

  boolean serverStreaming() {
    return binding.method().isServerStreaming();
  }
}
