package io.keelson.dataplane.config;

/**
 * The HTTP connection manager's tracing ({@code tracing} with {@code envoy.tracers.opentelemetry}).
 * Immutable.
 *
 * @param collectorCluster the cluster of the OTLP/gRPC collector (grpc_service.envoy_grpc.cluster_name)
 * @param serviceName      the service name spans are reported under
 * @param samplingPercent  random_sampling for requests that arrive without a sampling decision (Envoy default 100)
 */
public record TracingConfig(String collectorCluster, String serviceName, double samplingPercent) {
  public TracingConfig {
    if (samplingPercent < 0 || samplingPercent > 100) {
      throw new IllegalArgumentException("sampling percent " + samplingPercent + " is out of range; expected 0-100");
    }
  }
}
