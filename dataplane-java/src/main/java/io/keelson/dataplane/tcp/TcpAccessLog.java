package io.keelson.dataplane.tcp;

import io.keelson.dataplane.accesslog.AccessLogRecord;
import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.intercept.OriginalDestination;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.channel.Channel;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The access log entry of one downstream TCP connection (Envoy's tcp_proxy {@code access_log}, and a listener's
 * {@code access_log} for a connection it closes without a filter chain): what the proxy learns about the connection
 * is noted here as it happens, and ONE record is claimed, filled and published when the connection ends (Envoy's
 * default; one more when the upstream connects with flush_access_log_on_connected, and one every
 * access_log_flush_interval while it relays, each with the totals so far). Nothing per byte: the relay counts bytes and hands the totals over at the end.
 * Per connection, event-loop confined; the writer thread formats the record.
 */
public final class TcpAccessLog {
  private final AccessLogger logger;
  private final Channel downstream;
  private final String sni;
  private final long startEpochMillis = System.currentTimeMillis();
  private final long startNanos = System.nanoTime();
  private String cluster;
  private EndpointConfig upstreamHost;
  private InetSocketAddress upstreamLocal;
  private ResponseFlag flag = ResponseFlag.NONE;
  private boolean written;

  /**
   * @param logger the access logs to write to
   * @param sni    the ClientHello's server name when the TLS inspector ran, else null
   */
  TcpAccessLog(AccessLogger logger, Channel downstream, String sni) {
    this.logger = logger;
    this.downstream = downstream;
    this.sni = sni;
  }

  void cluster(String name) {
    cluster = name;
  }

  void upstream(EndpointConfig host) {
    upstreamHost = host;
  }

  void upstreamLocal(SocketAddress local) {
    upstreamLocal = local instanceof InetSocketAddress a ? a : null;
  }

  /** The first flag set wins (the cause, not its consequences). */
  void flag(ResponseFlag f) {
    if (flag == ResponseFlag.NONE) {
      flag = f;
    }
  }

  /** Writes the entry (once; later calls do nothing). */
  void write(long bytesReceived, long bytesSent) {
    if (written) {
      return;
    }
    written = true;
    entry(bytesReceived, bytesSent, AccessLogRecord.TCP_CONNECTION_END);
  }

  /** Writes an entry when the upstream connects (Envoy's flush_access_log_on_connected); the final one still follows. */
  void connected(long bytesReceived) {
    entry(bytesReceived, 0, AccessLogRecord.TCP_UPSTREAM_CONNECTED);
  }

  /** Writes an entry with the totals so far (Envoy's access_log_flush_interval); the final one still follows. */
  void periodic(long bytesReceived, long bytesSent) {
    if (!written) {
      entry(bytesReceived, bytesSent, AccessLogRecord.TCP_PERIODIC);
    }
  }

  private void entry(long bytesReceived, long bytesSent, int logType) {
    AccessLogRecord r = logger.claim(); // null: the ring is full, the entry is dropped and counted
    if (r == null) {
      return;
    }
    fill(r, downstream, startEpochMillis, System.nanoTime() - startNanos, flag);
    r.bytesReceived = bytesReceived;
    r.bytesSent = bytesSent;
    r.logType = logType;
    r.upstreamCluster = cluster;
    r.upstreamHost = upstreamHost;
    r.upstreamLocalAddress = upstreamLocal;
    r.requestedServerName = sni;
    io.keelson.dataplane.accesslog.DownstreamTls.Info tls = io.keelson.dataplane.accesslog.DownstreamTls.of(downstream);
    r.downstreamTlsVersion = tls.version();
    r.downstreamPeerUriSan = tls.peerUriSan();
    logger.publish(r);
  }

  /**
   * Writes the entry of a connection a listener closes before any filter chain ran ({@code flag}: NR for no
   * filter chain match), to the listener's access logs. On the connection's event loop.
   */
  public static void refused(AccessLogger logger, Channel ch, ResponseFlag flag) {
    AccessLogRecord r = logger.claim();
    if (r == null) {
      return;
    }
    fill(r, ch, System.currentTimeMillis(), 0, flag);
    logger.publish(r);
  }

  /** Sets every field a TCP entry has (a ring slot keeps the last user's numbers and protocol). */
  private static void fill(AccessLogRecord r, Channel ch, long startMillis, long durationNanos, ResponseFlag flag) {
    r.startEpochMillis = startMillis;
    r.durationNanos = durationNanos;
    r.protocol = null;
    r.status = 0;
    r.flag = flag;
    r.logType = AccessLogRecord.NOT_SET;
    r.healthCheck = false;
    r.bytesReceived = 0;
    r.bytesSent = 0;
    r.downstreamRemoteAddress = address(io.keelson.dataplane.intercept.RemoteAddress.of(ch));
    r.downstreamLocalAddress = OriginalDestination.localAddress(ch);
  }

  /** "ip:port" ("[ip]:port" for IPv6), once per connection (a udp_proxy session's too). */
  public static String address(SocketAddress a) {
    if (!(a instanceof InetSocketAddress s) || s.getAddress() == null) {
      return null;
    }
    String ip = s.getAddress().getHostAddress();
    return (s.getAddress() instanceof Inet6Address ? "[" + ip + "]" : ip) + ":" + s.getPort();
  }
}
