package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.stats.MeshIdentity;

/**
 * The proxy's identity for Istio's metric labels, from the bootstrap {@code node} (id, cluster and the
 * metadata Istio's injector sets: WORKLOAD_NAME, NAMESPACE, LABELS, SERVICE_ACCOUNT). Stateless.
 */
public final class NodeIdentity {
  private NodeIdentity() {}

  /** The identity in bootstrap text; "unknown" labels when it has no node. */
  public static MeshIdentity fromBootstrap(String text, String sourceName) throws ConfigException {
    var bootstrap = BootstrapLoader.parse(text, new Problems(sourceName), null);
    return bootstrap.hasNode() ? of(bootstrap.getNode()) : MeshIdentity.UNKNOWN_IDENTITY;
  }

  /** The bootstrap node's cluster (Envoy's service cluster: the Zipkin spans' service name), or null. */
  public static String serviceCluster(String text, String sourceName) throws ConfigException {
    var bootstrap = BootstrapLoader.parse(text, new Problems(sourceName), null);
    return bootstrap.getNode().getCluster().isEmpty() ? null : bootstrap.getNode().getCluster();
  }

  public static MeshIdentity of(Node node) {
    return MeshIdentity.fromNode(node.getId(), node.getCluster(), io.keelson.dataplane.stats.PeerMetadata.toMap(node.getMetadata()));
  }
}
