package io.keelson.dataplane.config;

/**
 * The HTTP connection manager's tracing ({@code tracing} with {@code envoy.tracers.opentelemetry} or
 * {@code envoy.tracers.zipkin}). Immutable.
 *
 * @param collectorCluster the cluster of the collector (OTLP: grpc_service.envoy_grpc.cluster_name; Zipkin:
 *                         collector_cluster), or null for none (ids are propagated, no span is reported)
 * @param serviceName      the service name spans are reported under
 * @param samplingPercent  random_sampling for requests that arrive without a sampling decision (Envoy default 100)
 * @param zipkin           the Zipkin provider's settings, or null for OpenTelemetry
 * @param egress           the listener's traffic_direction is OUTBOUND: a Zipkin hop reports a CLIENT span (Envoy's
 *                         egress operation), otherwise a SERVER span
 */
public record TracingConfig(String collectorCluster, String serviceName, double samplingPercent, ZipkinTracing zipkin,
    boolean egress) {
  public TracingConfig {
    if (samplingPercent < 0 || samplingPercent > 100) {
      throw new IllegalArgumentException("sampling percent " + samplingPercent + " is out of range; expected 0-100");
    }
  }

  /** An OpenTelemetry provider's tracing. */
  public TracingConfig(String collectorCluster, String serviceName, double samplingPercent) {
    this(collectorCluster, serviceName, samplingPercent, null, false);
  }
}
