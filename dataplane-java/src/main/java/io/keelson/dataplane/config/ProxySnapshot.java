package io.keelson.dataplane.config;

import java.util.List;
import java.util.Map;

/**
 * Everything the data plane runs, as one immutable value. Immutable and safe to share between threads.
 *
 * @param version     a label for this snapshot (bootstrap: "static"; xDS: the resources' versions)
 * @param listeners   listeners in bootstrap order
 * @param clusters    clusters by name
 * @param configDump  the source config as JSON (Envoy's field names), for the admin {@code /config_dump}
 * @param warnings    fields that were ignored because ignoring them is safe, each naming the field path
 * @param names       the mesh's names for the sidecar's DNS proxy (from the control plane, in a listener's
 *                    metadata: {@link io.keelson.dataplane.dns.NameTable#METADATA_KEY}); empty when none was sent
 * @param udpListeners the UDP listeners ({@code socket_address.protocol: UDP}, each running udp_proxy), in source order
 */
public record ProxySnapshot(
    String version,
    List<ListenerConfig> listeners,
    Map<String, ClusterConfig> clusters,
    String configDump,
    List<String> warnings,
    io.keelson.dataplane.dns.NameTable names,
    List<UdpListenerConfig> udpListeners) {

  public ProxySnapshot(String version, List<ListenerConfig> listeners, Map<String, ClusterConfig> clusters,
      String configDump, List<String> warnings) {
    this(version, listeners, clusters, configDump, warnings, io.keelson.dataplane.dns.NameTable.EMPTY);
  }

  public ProxySnapshot(String version, List<ListenerConfig> listeners, Map<String, ClusterConfig> clusters,
      String configDump, List<String> warnings, io.keelson.dataplane.dns.NameTable names) {
    this(version, listeners, clusters, configDump, warnings, names, List.of());
  }

  public ProxySnapshot {
    names = names == null ? io.keelson.dataplane.dns.NameTable.EMPTY : names;
    listeners = List.copyOf(listeners);
    udpListeners = udpListeners == null ? List.of() : List.copyOf(udpListeners);
    clusters = Map.copyOf(clusters);
    warnings = List.copyOf(warnings);
  }

  public ClusterConfig cluster(String name) {
    return clusters.get(name);
  }
}
