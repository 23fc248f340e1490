package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * An HTTP/3 listener's QUIC settings (Envoy's {@code udp_listener_config.quic_options}). Immutable.
 *
 * @param idleTimeout          a connection with no packet either way for this long is closed ({@code idle_timeout})
 * @param maxConcurrentStreams request streams a client may have open at once
 *                             ({@code quic_protocol_options.max_concurrent_streams})
 * @param handshakeTimeout     a connection whose handshake has not completed after this long is closed
 *                             ({@code crypto_handshake_timeout})
 */
public record QuicOptions(Duration idleTimeout, int maxConcurrentStreams, Duration handshakeTimeout) {
  /** Envoy's defaults: 300 s idle, 100 streams, a 20 s handshake. */
  public static final QuicOptions DEFAULT = new QuicOptions(Duration.ofSeconds(300), 100, Duration.ofSeconds(20));
}
