package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.config.ZipkinTracing;

/**
 * Translates an HTTP connection manager's tracing block: the OpenTelemetry provider ({@code envoy.tracers.opentelemetry})
 * or the Zipkin one ({@code envoy.tracers.zipkin}). Stateless.
 */
final class TracingTranslator {
  private TracingTranslator() {}

  /** @param egress the listener's traffic_direction is OUTBOUND (Envoy's egress operation: Zipkin CLIENT spans) */
  static TracingConfig translate(HttpConnectionManager hcm, String path, boolean egress, Problems problems) {
    if (!hcm.hasTracing()) {
      return null;
    }
    HttpConnectionManager.Tracing t = hcm.getTracing();
    double percent = t.hasRandomSampling() ? t.getRandomSampling().getValue() : 100;
    if (percent < 0 || percent > 100) {
      problems.error(path + ".random_sampling.value", percent + " is out of range; expected 0-100");
      return null;
    }
    if (!t.hasProvider()) {
      return new TracingConfig(null, "keelson", percent);
    }
    var provider = t.getProvider();
    String at = path + ".provider.typed_config";
    try {
      if (provider.hasTypedConfig() && provider.getTypedConfig().is(ZipkinConfig.class)) {
        return zipkin(provider.getTypedConfig().unpack(ZipkinConfig.class), at, percent, egress,
            t.hasMaxPathTagLength() ? t.getMaxPathTagLength().getValue() : ZipkinTracing.DEFAULT_MAX_PATH_TAG_LENGTH,
            problems);
      }
      if (!provider.hasTypedConfig() || !provider.getTypedConfig().is(OpenTelemetryConfig.class)) {
        problems.error(at, "expected " + OpenTelemetryConfig.getDescriptor().getFullName()
            + " (envoy.tracers.opentelemetry) or " + ZipkinConfig.getDescriptor().getFullName() + " (envoy.tracers.zipkin)");
        return null;
      }
      OpenTelemetryConfig otel = provider.getTypedConfig().unpack(OpenTelemetryConfig.class);
      String cluster = otel.getGrpcService().getEnvoyGrpc().getClusterName();
      if (cluster.isEmpty()) {
        problems.error(at + ".grpc_service.envoy_grpc.cluster_name", "the OTLP collector's cluster is required");
        return null;
      }
      return new TracingConfig(cluster, otel.getServiceName().isEmpty() ? "keelson" : otel.getServiceName(), percent);
    } catch (InvalidProtocolBufferException e) {
      problems.error(at, "cannot read: " + e.getMessage());
      return null;
    }
  }

  private static TracingConfig zipkin(ZipkinConfig z, String at, double percent, boolean egress, int maxPathTagLength,
      Problems problems) {
    boolean ok = true;
    if (z.getCollectorCluster().isEmpty()) {
      problems.error(at + ".collector_cluster", "the Zipkin collector's cluster is required");
      ok = false;
    }
    if (!z.getCollectorEndpoint().startsWith("/")) {
      problems.error(at + ".collector_endpoint", "'" + z.getCollectorEndpoint()
          + "' is not a path; expected the collector's path, e.g. /api/v2/spans");
      ok = false;
    }
    boolean proto = false;
    switch (z.getCollectorEndpointVersion()) {
      case HTTP_JSON -> proto = false;
      case HTTP_PROTO -> proto = true;
      default -> {
        problems.error(at + ".collector_endpoint_version", (z.getCollectorEndpointVersionValue() == 0
            ? "required (Envoy refuses the deprecated default)" : z.getCollectorEndpointVersion() + " is not supported")
            + "; expected HTTP_JSON (JSON v2) or HTTP_PROTO (proto3 ListOfSpans)");
        ok = false;
      }
    }
    if (!ok) {
      return null;
    }
    boolean shared = !z.hasSharedSpanContext() || z.getSharedSpanContext().getValue(); // Envoy's default: true
    String host = z.getCollectorHostname().isEmpty() ? null : z.getCollectorHostname();
    return new TracingConfig(z.getCollectorCluster(), null, percent,
        new ZipkinTracing(z.getCollectorEndpoint(), host, z.getTraceId128Bit(), shared, proto, maxPathTagLength), egress);
  }
}
