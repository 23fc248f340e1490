package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * A UDP listener running Envoy's {@code envoy.filters.udp_listener.udp_proxy}: datagrams from each downstream address
 * form a session relayed over a connected UDP socket of its own to one host of {@code cluster}. Immutable.
 *
 * @param name              Envoy listener name
 * @param host              bind address (an IP literal)
 * @param port              bind port (0 = ephemeral, used by tests)
 * @param statPrefix        the udp_proxy's {@code stat_prefix}: counters {@code udp.<statPrefix>.*}
 * @param cluster           the cluster every session goes to ({@code cluster}, or the matcher's {@code on_no_match} Route)
 * @param idleTimeout       a session with no datagram either way for this long ends ({@code idle_timeout}, 60 s default)
 * @param hashSourceIp      {@code hash_policies: [{source_ip: true}]}: a hashing cluster keeps a client's sessions on one host
 * @param perPacketBalancing {@code use_per_packet_load_balancing}: each datagram picks a host of its own
 * @param maxRxDatagramSize the largest datagram read from upstreams ({@code upstream_socket_config.max_rx_datagram_size})
 * @param downstreamMaxRxDatagramSize the largest datagram read from clients
 *                          ({@code udp_listener_config.downstream_socket_config.max_rx_datagram_size})
 * @param accessLogs        the udp_proxy's {@code access_log}: one entry per session, when it ends
 * @param sourceDigest      a digest of the Listener message, its address left out (see {@link ListenerConfig#sameSource})
 */
public record UdpListenerConfig(
    String name, String host, int port, String statPrefix, String cluster, Duration idleTimeout, boolean hashSourceIp,
    boolean perPacketBalancing, int maxRxDatagramSize, int downstreamMaxRxDatagramSize, java.util.List<AccessLogConfig> accessLogs,
    String sourceDigest) {
  public UdpListenerConfig {
    accessLogs = java.util.List.copyOf(accessLogs);
  }

  /** Envoy's udp_proxy default idle timeout. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** Envoy's default {@code max_rx_datagram_size}. */
  public static final int DEFAULT_MAX_RX_DATAGRAM_SIZE = 1500;

  /** This listener with the digest of the message it was translated from. */
  public UdpListenerConfig withSourceDigest(String digest) {
    return new UdpListenerConfig(name, host, port, statPrefix, cluster, idleTimeout, hashSourceIp, perPacketBalancing,
        maxRxDatagramSize, downstreamMaxRxDatagramSize, accessLogs, digest);
  }
}
