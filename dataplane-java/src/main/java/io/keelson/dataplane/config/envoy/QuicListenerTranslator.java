package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.QuicProtocolOptions;
import io.keelson.dataplane.config.QuicOptions;

/**
 * An HTTP/3 listener (Envoy's QUIC listener: {@code address.socket_address.protocol: UDP} with
 * {@code udp_listener_config.quic_options}): its QUIC settings and its shape. Its filter chains (one, or several
 * selected by {@code server_names} as a TCP listener's SNI chains) are translated by {@link SnapshotTranslator}, their
 * TLS through {@link TlsTranslator#downstreamQuic}. Fields Keelson does not run are refused by {@link SupportedFields}.
 * Stateless.
 */
final class QuicListenerTranslator {
  /** quiche's stream limit is a transport parameter; Envoy's bound on max_concurrent_streams is 1 and up. */
  private static final long MAX_STREAMS = 1L << 30;

  private QuicListenerTranslator() {}

  static boolean isQuic(Listener l) {
    return UdpProxyTranslator.isUdp(l) && l.getUdpListenerConfig().hasQuicOptions();
  }

  /** The listener's QUIC settings after checking its shape, or null after reporting why not. */
  static QuicOptions options(Listener l, String name, String path, Problems problems) {
    String owner = "QUIC listener '" + name + "'";
    boolean ok = true;
    if (l.getFilterChainsCount() == 0) {
      problems.error(path + ".filter_chains", owner + " has no filter chains; expected one, or several selected by"
          + " filter_chain_match.server_names");
      ok = false;
    }
    java.util.Set<java.util.List<String>> names = new java.util.HashSet<>();
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      var chain = l.getFilterChains(i);
      String at = path + ".filter_chains[" + i + "]";
      var m = chain.getFilterChainMatch();
      for (var f : m.getAllFields().keySet()) {
        if (!f.getName().equals("server_names")) {
          problems.error(at + ".filter_chain_match." + f.getName(), owner + ": QUIC chains are selected by server"
              + " name only; expected only filter_chain_match.server_names");
          ok = false;
        }
      }
      if (!names.add(m.getServerNamesList().stream().map(n -> n.toLowerCase(java.util.Locale.ROOT)).sorted().toList())) {
        problems.error(at + ".filter_chain_match.server_names", owner + ": another chain has the same server_names "
            + m.getServerNamesList() + "; expected each set once (Envoy rejects duplicate matches)");
        ok = false;
      }
      if (!chain.hasTransportSocket()) {
        problems.error(at + ".transport_socket", owner + " has no TLS; QUIC always runs TLS 1.3:"
            + " expected envoy.transport_sockets.quic (QuicDownstreamTransport with a downstream_tls_context)");
        ok = false;
      }
    }
    for (String field : new String[] {"listener_filters", "default_filter_chain", "use_original_dst", "access_log"}) {
      if (l.getAllFields().keySet().stream().anyMatch(f -> f.getName().equals(field))) {
        problems.error(path + "." + field, owner + ": " + field + " applies to TCP listeners; expected it unset");
        ok = false;
      }
    }
    QuicProtocolOptions q = l.getUdpListenerConfig().getQuicOptions();
    String at = path + ".udp_listener_config.quic_options";
    QuicOptions d = QuicOptions.DEFAULT;
    java.time.Duration idle = q.hasIdleTimeout() ? positive(q.getIdleTimeout(), at + ".idle_timeout", problems)
        : d.idleTimeout();
    java.time.Duration handshake = q.hasCryptoHandshakeTimeout()
        ? positive(q.getCryptoHandshakeTimeout(), at + ".crypto_handshake_timeout", problems) : d.handshakeTimeout();
    int streams = d.maxConcurrentStreams();
    var protocol = q.getQuicProtocolOptions();
    if (protocol.hasMaxConcurrentStreams()) {
      long v = protocol.getMaxConcurrentStreams().getValue();
      if (v < 1 || v > MAX_STREAMS) {
        problems.error(at + ".quic_protocol_options.max_concurrent_streams", "expected 1 to " + MAX_STREAMS);
        ok = false;
      }
      streams = (int) Math.min(v, MAX_STREAMS);
    }
    if (!ok || idle == null || handshake == null) {
      return null;
    }
    return new QuicOptions(idle, streams, handshake);
  }

  private static java.time.Duration positive(Duration d, String path, Problems problems) {
    java.time.Duration out = java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos());
    if (out.isNegative() || out.isZero()) {
      problems.error(path, "expected a positive duration");
      return null;
    }
    return out;
  }
}
