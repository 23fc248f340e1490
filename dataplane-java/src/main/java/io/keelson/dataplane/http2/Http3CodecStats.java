package io.keelson.dataplane.http2;

import io.keelson.dataplane.stats.StatsRegistry;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The HTTP/3 and QUIC listener counters Keelson counts as Envoy does. Envoy's HTTP/3 codec stats, process-wide
 * ({@code http3.*}): {@code rx_reset} (a client cancelled a request stream: RESET_STREAM or STOP_SENDING),
 * {@code tx_reset} (the proxy reset one), {@code quic_version_rfc_v1} (a connection established: quiche speaks only
 * QUIC v1). Not counted, as nothing in Keelson can raise them: the headers-with-underscores pair (no
 * {@code headers_with_underscores_action}), {@code metadata_not_supported_error} (no METADATA is ever sent),
 * {@code quic_version_h3_29}, {@code tx_flush_timeout}. Keelson's own {@code http3.stop_sending_checks}. And the listener's own {@code listener.<address>.}
 * {@code downstream_cx_total} / {@code _active} (established QUIC connections; Envoy's scope: the listener's address,
 * {@code <ip>_<port>}). Looked up once per listener; thread-safe.
 */
final class Http3CodecStats {
  final LongAdder rxReset;
  final LongAdder txReset;
  final LongAdder quicVersionRfcV1;
  /** Keelson's own: the STOP_SENDING checks of {@link Http3StopSendingWatch} (its cost, one native call each). */
  final LongAdder stopSendingChecks;
  private final StatsRegistry registry;
  /** {@code listener.<address>.} counters, once the socket is bound; event-loop confined (the socket's). */
  private LongAdder listenerCxTotal;
  private AtomicLong listenerCxActive;

  Http3CodecStats(StatsRegistry registry) {
    this.registry = registry;
    this.rxReset = registry.counter("http3.rx_reset");
    this.txReset = registry.counter("http3.tx_reset");
    this.quicVersionRfcV1 = registry.counter("http3.quic_version_rfc_v1");
    this.stopSendingChecks = registry.counter("http3.stop_sending_checks");
  }

  /** A connection on the listener bound at {@code local} completed its handshake; {@link #connectionClosed} follows. */
  void connectionEstablished(InetSocketAddress local) {
    if (listenerCxTotal == null) {
      String scope = "listener." + local.getAddress().getHostAddress() + "_" + local.getPort() + ".";
      listenerCxTotal = registry.counter(scope + "downstream_cx_total");
      listenerCxActive = registry.gauge(scope + "downstream_cx_active");
    }
    quicVersionRfcV1.increment();
    listenerCxTotal.increment();
    listenerCxActive.incrementAndGet();
  }

  void connectionClosed() {
    listenerCxActive.decrementAndGet();
  }
}
