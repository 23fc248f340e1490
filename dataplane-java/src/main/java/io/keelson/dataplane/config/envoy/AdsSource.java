package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * A bootstrap's {@code dynamic_resources}: where the ADS server is and how to talk to it. Immutable.
 *
 * @param clusterName     the static cluster named by ads_config.grpc_services[0].envoy_grpc.cluster_name
 * @param host            that cluster's first endpoint address
 * @param port            that cluster's first endpoint port
 * @param delta           ads_config.api_type DELTA_GRPC (incremental) rather than GRPC (state of the world)
 * @param node            the bootstrap's node (id, cluster, metadata) sent to the server
 * @param staticResources the bootstrap's static listeners and clusters, without the ADS cluster, served alongside xDS ones
 */
public record AdsSource(
    String clusterName, String host, int port, boolean delta, Node node, Bootstrap.StaticResources staticResources) {}
