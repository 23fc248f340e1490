package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.stats.MeshIdentity;
import java.util.LinkedHashMap;
import java.util.Map;

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

  public static MeshIdentity of(Node node) {
    return MeshIdentity.fromNode(node.getId(), node.getCluster(), toMap(node.getMetadata()));
  }

  private static Map<String, Object> toMap(Struct s) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
      Value v = e.getValue();
      out.put(e.getKey(), switch (v.getKindCase()) {
        case STRING_VALUE -> v.getStringValue();
        case STRUCT_VALUE -> toMap(v.getStructValue());
        default -> null;
      });
    }
    return out;
  }
}
