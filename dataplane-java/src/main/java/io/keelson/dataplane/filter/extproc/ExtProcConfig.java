package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor;

/**
 * envoy.filters.http.ext_proc, validated: where the processor is, how long one message may take, what happens when
 * it fails, and whether request headers are sent. Immutable.
 *
 * @param cluster            grpc_service.envoy_grpc.cluster_name (an HTTP/2 cluster)
 * @param authority          the stream's :authority (envoy_grpc.authority, else the cluster name)
 * @param callTimeoutNanos   how long the processor may take to answer: message_timeout, or grpc_service.timeout
 *                           when shorter
 * @param messageTimeoutNanos message_timeout (200 ms by default)
 * @param failureModeAllow   a failed stream or a timeout lets the request through instead of a 500
 * @param modes              which phases processing_mode sends
 * @param allowModeOverride  a headers answer's mode_override may change the later phases ({@link ModeOverride})
 * @param allowedOverrideModes allowed_override_modes: the mode_overrides honoured (empty: any)
 * @param statPrefix         the filter's stat_prefix ("" for none)
 * @param maxMessageTimeoutNanos max_message_timeout: the longest override_message_timeout a processor may ask for
 *                           (0: none is honoured)
 * @param observability      observability_mode: each phase is sent and the exchange goes on at once, answers ignored
 * @param deferredCloseNanos deferred_close_timeout (5 s by default): how long an observability-mode stream stays open
 *                           after its exchange ended, for the processor to read it
 * @param routeCacheAction   route_cache_action (RETAIN when disable_clear_route_cache): whether a request_headers
 *                           answer with a header mutation routes the request again
 */
record ExtProcConfig(String cluster, String authority, long callTimeoutNanos, long messageTimeoutNanos,
    boolean failureModeAllow, ProcessingModes modes, boolean allowModeOverride,
    java.util.List<io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode> allowedOverrideModes,
    String statPrefix,
    long maxMessageTimeoutNanos, boolean observability, long deferredCloseNanos,
    ExternalProcessor.RouteCacheAction routeCacheAction) {

  /** Envoy's deferred_close_timeout when unset. */
  static final long DEFAULT_DEFERRED_CLOSE_NANOS = 5_000_000_000L;

  /** Envoy's message_timeout when unset. */
  static final long DEFAULT_MESSAGE_TIMEOUT_NANOS = 200_000_000L;

  /**
   * How much of a body a BUFFERED phase holds: Envoy's connection manager buffer limit at its default
   * (per_connection_buffer_limit_bytes, 1 MiB), which Keelson does not configure.
   */
  static final long BUFFER_LIMIT_BYTES = 1024 * 1024;

  /** The largest ProcessingResponse taken (an immediate response's body reaches the client). */
  static final int MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

  ExtProcConfig withProcessingMode(ProcessingModes m) {
    return new ExtProcConfig(cluster, authority, callTimeoutNanos, messageTimeoutNanos, failureModeAllow, m,
        allowModeOverride, allowedOverrideModes, statPrefix, maxMessageTimeoutNanos, observability, deferredCloseNanos,
        routeCacheAction);
  }

  /** This config with a route's grpc_service (ExtProcPerRoute overrides.grpc_service). */
  ExtProcConfig withService(ExtProcFilterFactory.Service s) {
    return new ExtProcConfig(s.cluster(), s.authority(), s.callTimeout(messageTimeoutNanos), messageTimeoutNanos,
        failureModeAllow, modes, allowModeOverride, allowedOverrideModes, statPrefix, maxMessageTimeoutNanos,
        observability, deferredCloseNanos, routeCacheAction);
  }

  /**
   * Whether the filter may stream the request's (or the response's) body: its mode is STREAMED, or a headers answer
   * may switch it to STREAMED (allow_mode_override, unless allowed_override_modes rules STREAMED out for it). A
   * request body can only be switched by the request headers' answer.
   */
  boolean mayStream(boolean response) {
    if (response ? modes.responseStreamed() : modes.requestStreamed()) {
      return true;
    }
    if (!allowModeOverride || observability || !(modes.requestHeaders() || (response && modes.responseHeaders()))) {
      return false;
    }
    var streamed = io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode.STREAMED;
    return allowedOverrideModes.isEmpty() || allowedOverrideModes.stream()
        .anyMatch(m -> (response ? m.getResponseBodyMode() : m.getRequestBodyMode()) == streamed);
  }
}
