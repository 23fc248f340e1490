package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.util.JsonFormat;
import java.util.List;
import java.util.Set;

/**
 * One envoy.filters.http.grpc_json_transcoder config, compiled: the method bindings and JSON printing and parsing
 * over the descriptor set's types, and the request-mapping options. Immutable; thread-safe (JsonFormat's printer and
 * parser are).
 *
 * @param maxBodyBytes the largest request body transcoded, and the largest response held (Envoy's buffer limit)
 */
record TranscoderSettings(List<MethodBinding> bindings, JsonFormat.Printer printer, JsonFormat.Parser parser,
    boolean matchIncomingRequestRoute, Set<String> ignoredQueryParameters, boolean ignoreUnknownQueryParameters,
    boolean rejectUnknownQueryParameters, boolean rejectUnknownMethod, boolean convertGrpcStatus, long maxBodyBytes) {

  /** Envoy's connection buffer limit at its default (per_connection_buffer_limit_bytes, 1 MiB), which Keelson does not configure. */
  static final long BUFFER_LIMIT_BYTES = 1024 * 1024;
}
