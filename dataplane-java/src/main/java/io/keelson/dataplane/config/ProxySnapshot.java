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
 * @param quicListeners the listeners among {@code listeners} that serve HTTP/3 over QUIC (a UDP address with
 *                    {@code udp_listener_config.quic_options}), by name, with their QUIC settings
 */
public record ProxySnapshot(
    String version,
    List<ListenerConfig> listeners,
    Map<String, ClusterConfig> clusters,
    String configDump,
    List<String> warnings,
    io.keelson.dataplane.dns.NameTable names,
    List<UdpListenerConfig> udpListeners,
    Map<String, QuicOptions> quicListeners) {

  public ProxySnapshot(String version, List<ListenerConfig> listeners, Map<String, ClusterConfig> clusters,
      String configDump, List<String> warnings, io.keelson.dataplane.dns.NameTable names,
      List<UdpListenerConfig> udpListeners) {
    this(version, listeners, clusters, configDump, warnings, names, udpListeners, Map.of());
  }

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
    quicListeners = quicListeners == null ? Map.of() : Map.copyOf(quicListeners);
    clusters = Map.copyOf(clusters);
    warnings = List.copyOf(warnings);
  }

  /** The listeners bound as TCP sockets: all but the {@link #quicListeners}. */
  public List<ListenerConfig> tcpListeners() {
    return quicListeners.isEmpty() ? listeners
        : listeners.stream().filter(l -> !quicListeners.containsKey(l.name())).toList();
  }

  /** This snapshot with {@code clusters} in place of its own (a DNS cluster's resolved endpoints). */
  public ProxySnapshot withClusters(Map<String, ClusterConfig> clusters) {
    return new ProxySnapshot(version, listeners, clusters, configDump, warnings, names, udpListeners, quicListeners);
  }

  public ClusterConfig cluster(String name) {
    return clusters.get(name);
  }
}
