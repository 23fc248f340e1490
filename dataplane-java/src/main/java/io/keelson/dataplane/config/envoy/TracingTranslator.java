package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.dataplane.config.TracingConfig;

/** Translates an HTTP connection manager's tracing block (the OpenTelemetry provider only). Stateless. */
final class TracingTranslator {
  private TracingTranslator() {}

  static TracingConfig translate(HttpConnectionManager hcm, String path, Problems problems) {
    if (!hcm.hasTracing()) {
      return null;
    }
    HttpConnectionManager.Tracing t = hcm.getTracing();
    double percent = t.hasRandomSampling() ? t.getRandomSampling().getValue() : 100;
    if (percent < 0 || percent > 100) {
      problems.error(path + ".random_sampling.value", percent + " is out of range; expected 0-100");
      return null;
    }
    String cluster = null;
    String service = "keelson";
    if (t.hasProvider()) {
      var provider = t.getProvider();
      if (!provider.hasTypedConfig() || !provider.getTypedConfig().is(OpenTelemetryConfig.class)) {
        problems.error(path + ".provider.typed_config", "expected "
            + OpenTelemetryConfig.getDescriptor().getFullName() + " (envoy.tracers.opentelemetry)");
        return null;
      }
      try {
        OpenTelemetryConfig otel = provider.getTypedConfig().unpack(OpenTelemetryConfig.class);
        cluster = otel.getGrpcService().getEnvoyGrpc().getClusterName();
        if (cluster.isEmpty()) {
          problems.error(path + ".provider.typed_config.grpc_service.envoy_grpc.cluster_name",
              "the OTLP collector's cluster is required");
          return null;
        }
        if (!otel.getServiceName().isEmpty()) {
          service = otel.getServiceName();
        }
      } catch (InvalidProtocolBufferException e) {
        problems.error(path + ".provider.typed_config", "cannot read: " + e.getMessage());
        return null;
      }
    }
    return new TracingConfig(cluster, service, percent);
  }
}
