package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One connected proxy as {@code status} reports it. Immutable.
 *
 * @param types per resource type (listeners, routes, clusters, endpoints): versions sent/ACKed, ACK or NACK, last error
 * @param workload the workload it registered through its node metadata, or null
 */
public record ProxyStatus(String nodeId, String service, boolean delta, boolean proxyless, String connectedAt,
    Map<String, ProxyState.TypeState> types, Policy.Workload workload) {

  static ProxyStatus of(ProxyState p, Policy.Workload w) {
    Map<String, ProxyState.TypeState> byName = new LinkedHashMap<>();
    p.types().forEach((url, t) -> byName.put(shortName(url), t));
    return new ProxyStatus(p.nodeId, p.service, p.delta, p.proxyless, p.connectedAt.toString(), byName, w);
  }

  static String shortName(String typeUrl) {
    return switch (typeUrl.substring(typeUrl.lastIndexOf('.') + 1)) {
      case "Listener" -> "listeners";
      case "RouteConfiguration" -> "routes";
      case "Cluster" -> "clusters";
      case "ClusterLoadAssignment" -> "endpoints";
      default -> typeUrl;
    };
  }
}
