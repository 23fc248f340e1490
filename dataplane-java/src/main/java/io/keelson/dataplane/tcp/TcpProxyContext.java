package io.keelson.dataplane.tcp;

import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tls.offload.TlsOffload;
import io.keelson.dataplane.transport.Transport;
import java.util.function.Supplier;

/**
 * What tcp_proxy connections share: the current snapshot, the transport for upstream connects,
 * the counters, the kernel TLS offload policy (read when a connection is accepted) and the access log
 * writer (the proxy's, shared with HTTP), and where network filters' side calls go ({@code calls}: read on an event
 * loop, it gives that loop's {@link UpstreamCalls}). Thread-safe.
 */
public record TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats,
    Supplier<TlsOffload> tlsOffload, Supplier<AccessLogService> accessLogs, Supplier<UpstreamCalls> calls) {

  /** With side calls through per-event-loop upstream channels of its own. */
  public TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats,
      Supplier<TlsOffload> tlsOffload, Supplier<AccessLogService> accessLogs) {
    this(snapshot, transport, stats, tlsOffload, accessLogs,
        io.keelson.dataplane.http2.Http2ServerSupport.sideCalls(transport, stats));
  }

  /** Without kernel TLS offload. */
  public TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats) {
    this(snapshot, transport, stats, () -> TlsOffload.DISABLED);
  }

  /** With the default access log writer, started on first use. */
  public TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats,
      Supplier<TlsOffload> tlsOffload) {
    this(snapshot, transport, stats, tlsOffload, new Supplier<>() {
      private AccessLogService service;

      @Override
      public synchronized AccessLogService get() {
        if (service == null) {
          service = new AccessLogService(AccessLogService.DEFAULT_RING_SIZE);
        }
        return service;
      }
    });
  }

  /** The access logger of a tcp_proxy (or listener) with these logs, or null when it has none; once per config. */
  public AccessLogger accessLogger(java.util.List<io.keelson.dataplane.config.AccessLogConfig> logs) {
    return logs.isEmpty() ? null : accessLogs.get().shared(logs);
  }

  /**
   * The access_log lists of {@code config}'s listeners that {@link #accessLogger} serves: tcp_proxy (a listener's, its
   * SNI and filter chains'), a listener's own (no chain matched) and udp_proxy's; the others' loggers can go.
   */
  public static java.util.Set<java.util.List<io.keelson.dataplane.config.AccessLogConfig>> accessLogLists(
      io.keelson.dataplane.config.ProxySnapshot config) {
    java.util.Set<java.util.List<io.keelson.dataplane.config.AccessLogConfig>> out = new java.util.HashSet<>();
    for (var listener : config.listeners()) {
      for (var l : listener.withChains()) {
        if (l.tcpProxy() != null) {
          out.add(l.tcpProxy().accessLogs());
        }
        l.sniChains().forEach(chain -> out.add(chain.tcpProxy().accessLogs()));
        if (l.destinationChains() != null) {
          out.add(l.destinationChains().accessLogs());
        }
      }
    }
    config.udpListeners().forEach(u -> out.add(u.accessLogs()));
    return out;
  }
}
