package io.keelson.dataplane.config.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;

/** Reads a bootstrap's dynamic_resources (ADS over gRPC, V3) into an {@link AdsSource}. Stateless. */
final class AdsBootstrap {
  private static final String ADS = "dynamic_resources.ads_config";
  private static final String CLUSTER_NAME = ADS + ".grpc_services[0].envoy_grpc.cluster_name";

  private AdsBootstrap() {}

  /** Removes the cluster ads_config names from static_resources.clusters in the JSON tree and returns it, or null. */
  static Cluster removeAdsCluster(ObjectNode tree, Problems problems) {
    JsonNode name = tree.path("dynamic_resources").path("ads_config").path("grpc_services").path(0)
        .path("envoy_grpc").path("cluster_name");
    JsonNode clusters = tree.path("static_resources").path("clusters");
    if (!name.isTextual() || !(clusters instanceof ArrayNode array)) {
      return null;
    }
    for (int i = 0; i < array.size(); i++) {
      if (array.get(i) instanceof ObjectNode c && name.asText().equals(c.path("name").asText(null))) {
        array.remove(i);
        Cluster.Builder builder = Cluster.newBuilder();
        try {
          JsonFormat.parser().usingTypeRegistry(SupportedTypes.REGISTRY).ignoringUnknownFields().merge(c.toString(), builder);
        } catch (InvalidProtocolBufferException e) {
          problems.error("static_resources.clusters[" + i + "]", "cannot read the xDS cluster '" + name.asText() + "': " + e.getMessage());
          return null;
        }
        return builder.build();
      }
    }
    return null;
  }

  static AdsSource adsSource(Bootstrap bootstrap, Cluster adsCluster, Problems problems) {
    Bootstrap.DynamicResources dynamic = bootstrap.getDynamicResources();
    if (!dynamic.hasAdsConfig()) {
      problems.error(ADS, "an ads_config is required; expected { api_type: GRPC or DELTA_GRPC, transport_api_version: V3,"
          + " grpc_services: [{ envoy_grpc: { cluster_name: ... } }] }");
      return null;
    }
    ApiConfigSource ads = dynamic.getAdsConfig();
    boolean delta = false;
    switch (ads.getApiType()) {
      case GRPC -> {}
      case DELTA_GRPC -> delta = true;
      default -> problems.error(ADS + ".api_type", ads.getApiType() + " is not supported; expected GRPC or DELTA_GRPC");
    }
    if (ads.getTransportApiVersion() != ApiVersion.V3) {
      problems.error(ADS + ".transport_api_version", ads.getTransportApiVersion() + " is not supported; expected V3");
    }
    requireAds(dynamic.hasLdsConfig(), dynamic.getLdsConfig(), "dynamic_resources.lds_config", problems);
    requireAds(dynamic.hasCdsConfig(), dynamic.getCdsConfig(), "dynamic_resources.cds_config", problems);
    if (ads.getGrpcServicesCount() != 1 || !ads.getGrpcServices(0).hasEnvoyGrpc()) {
      problems.error(ADS + ".grpc_services", "expected exactly one grpc service: { envoy_grpc: { cluster_name: ... } }");
      return null;
    }
    String clusterName = ads.getGrpcServices(0).getEnvoyGrpc().getClusterName();
    if (adsCluster == null) {
      problems.error(CLUSTER_NAME, "cluster '" + clusterName + "' is not defined in static_resources.clusters;"
          + " expected a STATIC cluster with the xDS server's address");
      return null;
    }
    var endpoints = adsCluster.getLoadAssignment().getEndpointsList();
    if (endpoints.isEmpty() || endpoints.get(0).getLbEndpointsCount() == 0) {
      problems.error(CLUSTER_NAME, "cluster '" + clusterName + "' has no endpoint; expected load_assignment with the xDS server's address");
      return null;
    }
    var lb = endpoints.get(0).getLbEndpoints(0).getEndpoint();
    SocketAddress sa = Addresses.socketAddress(problems, lb.hasAddress(), lb.getAddress(),
        "cluster '" + clusterName + "'.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address");
    if (sa == null) {
      return null;
    }
    if (sa.getPortValue() == 0) {
      problems.error("cluster '" + clusterName + "'.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value",
          "0 is out of range; expected 1-65535");
      return null;
    }
    return new AdsSource(clusterName, sa.getAddress(), sa.getPortValue(), delta, bootstrap.getNode(), bootstrap.getStaticResources());
  }

  private static void requireAds(boolean present, ConfigSource source, String path, Problems problems) {
    if (!present || !source.hasAds()) {
      problems.error(path, "expected { ads: {} } (Keelson takes listeners and clusters over ADS only)");
    }
  }
}
