package io.keelson.dataplane.xds;

import java.util.EnumMap;
import java.util.Map;

/**
 * What the xDS client has done so far, for the admin page. Immutable.
 *
 * @param connected        a stream to the control plane is open and has delivered a response (a resumed
 *                         SotW stream whose versions are current gets none until the next change)
 * @param accepted         responses ACKed, per type
 * @param rejected         responses NACKed, per type
 * @param versions         last accepted version_info (SotW) or system_version_info (delta), per type
 * @param snapshotsPublished snapshots handed to the consumer
 * @param reconnects       streams opened after the first one
 * @param lastError        the last NACK's error_detail or stream failure, or "" when none
 * @param warmingClusters  accepted clusters not in service yet, waiting for their SDS secrets (Envoy's
 *                         {@code cluster_manager.warming_clusters})
 * @param warmingListeners accepted listeners not in service yet, waiting for their SDS secrets (Envoy's
 *                         {@code listener_manager.total_listeners_warming})
 */
public record XdsStats(
    boolean connected,
    Map<ResourceType, Long> accepted,
    Map<ResourceType, Long> rejected,
    Map<ResourceType, String> versions,
    long snapshotsPublished,
    long reconnects,
    String lastError,
    int warmingClusters,
    int warmingListeners) {

  public XdsStats {
    accepted = Map.copyOf(accepted);
    rejected = Map.copyOf(rejected);
    versions = Map.copyOf(versions);
  }

  static XdsStats initial() {
    Map<ResourceType, Long> zero = new EnumMap<>(ResourceType.class);
    for (ResourceType t : ResourceType.values()) {
      zero.put(t, 0L);
    }
    return new XdsStats(false, zero, zero, Map.of(), 0, 0, "", 0, 0);
  }

  public long accepted(ResourceType type) {
    return accepted.getOrDefault(type, 0L);
  }

  public long rejected(ResourceType type) {
    return rejected.getOrDefault(type, 0L);
  }

  XdsStats withConnected(boolean now) {
    return new XdsStats(now, accepted, rejected, versions, snapshotsPublished, reconnects, lastError,
        warmingClusters, warmingListeners);
  }

  XdsStats withAccepted(ResourceType type, String version, boolean published) {
    Map<ResourceType, Long> a = new EnumMap<>(accepted);
    a.merge(type, 1L, Long::sum);
    Map<ResourceType, String> v = versions.isEmpty() ? new EnumMap<>(ResourceType.class) : new EnumMap<>(versions);
    v.put(type, version);
    return new XdsStats(connected, a, rejected, v, snapshotsPublished + (published ? 1 : 0), reconnects, lastError,
        warmingClusters, warmingListeners);
  }

  XdsStats withRejected(ResourceType type, String error) {
    Map<ResourceType, Long> r = new EnumMap<>(rejected);
    r.merge(type, 1L, Long::sum);
    return new XdsStats(connected, accepted, r, versions, snapshotsPublished, reconnects, error,
        warmingClusters, warmingListeners);
  }

  XdsStats withStreamFailure(String error, boolean reconnecting) {
    return new XdsStats(false, accepted, rejected, versions, snapshotsPublished, reconnects + (reconnecting ? 1 : 0), error,
        warmingClusters, warmingListeners);
  }

  XdsStats withWarming(int clusters, int listeners) {
    return new XdsStats(connected, accepted, rejected, versions, snapshotsPublished, reconnects, lastError, clusters,
        listeners);
  }
}
