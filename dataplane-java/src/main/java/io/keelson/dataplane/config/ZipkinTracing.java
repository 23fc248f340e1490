package io.keelson.dataplane.config;

/**
 * The {@code envoy.tracers.zipkin} provider of a connection manager's tracing ({@code envoy.config.trace.v3.ZipkinConfig}).
 * Immutable.
 *
 * @param collectorEndpoint  the path spans are POSTed to ({@code /api/v2/spans})
 * @param collectorHostname  the Host of those POSTs (Envoy's default: the collector cluster's name)
 * @param traceId128         new traces get 128-bit ids (64-bit otherwise, as Envoy's default)
 * @param sharedSpanContext  an inbound hop with a B3 parent reports its SERVER span under the caller's span id (Envoy's
 *                           default true; Istio sends false: a child span of its own)
 * @param proto              HTTP_PROTO (zipkin's proto3 {@code ListOfSpans}) instead of HTTP_JSON (JSON v2)
 * @param maxPathTagLength   the connection manager's tracing {@code max_path_tag_length} (Envoy's default 256): the
 *                           {@code http.url} tag is cut to it
 */
public record ZipkinTracing(String collectorEndpoint, String collectorHostname, boolean traceId128,
    boolean sharedSpanContext, boolean proto, int maxPathTagLength) {
  /** Envoy's default max_path_tag_length. */
  public static final int DEFAULT_MAX_PATH_TAG_LENGTH = 256;
}
