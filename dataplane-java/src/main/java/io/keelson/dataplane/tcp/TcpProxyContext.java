package io.keelson.dataplane.tcp;

import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tls.offload.TlsOffload;
import io.keelson.dataplane.transport.Transport;
import java.util.function.Supplier;

/**
 * What tcp_proxy connections share: the current snapshot, the transport for upstream connects,
 * the counters and the kernel TLS offload policy (read when a connection is accepted). Thread-safe.
 */
public record TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats,
    Supplier<TlsOffload> tlsOffload) {

  /** Without kernel TLS offload. */
  public TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats) {
    this(snapshot, transport, stats, () -> TlsOffload.DISABLED);
  }
}
