package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.stats.ResponseFlag;

/**
 * One finished request (or TCP connection) as the access log sees it: a reusable ring slot, filled on an event loop and read
 * by the writer thread (the ring's sequence publishes the writes). Not thread-safe on its own.
 */
public final class AccessLogRecord {
  AccessLogger logger;
  long sequence;
  public long startEpochMillis;
  public long durationNanos;
  public String method;
  public String path;
  public String protocol;
  public int status;
  public ResponseFlag flag = ResponseFlag.NONE;
  public long bytesReceived;
  public long bytesSent;
  /** The chosen upstream host (its toString is "ip:port", called on the writer thread); null when none was chosen. */
  public Object upstreamHost;
  public String upstreamCluster;
  public String downstreamRemoteAddress;
  /** The downstream connection's local address (the original destination when restored); formatted on the writer thread. */
  public java.net.InetSocketAddress downstreamLocalAddress;
  public String routeName;
  /** The upstream connection's local address (tcp_proxy); formatted on the writer thread; null when none. */
  public java.net.InetSocketAddress upstreamLocalAddress;
  /** The TLS server name (SNI) the downstream client asked for; null when none. */
  public String requestedServerName;
  /** The downstream TLS protocol ("TLSv1.3"), set by tcp_proxy only so far; null without TLS. */
  public String downstreamTlsVersion;
  /** The downstream client certificate's URI SANs, comma-separated; set by tcp_proxy only so far; null when none. */
  public String downstreamPeerUriSan;
  /** The response's grpc-status (its trailers', else its headers'), copied when the logger's filters read it; null when absent. */
  public String grpcStatus;
  /** Envoy's {@code envoy.data.accesslog.v3.AccessLogType} number of this entry ({@link #DOWNSTREAM_END} for an HTTP request). */
  public int logType;
  /** An HTTP request the health check filter recognised (always false for TCP entries). */
  public boolean healthCheck;
  /** AccessLogType NotSet: a listener's entry for a connection it closed without a filter chain. */
  public static final int NOT_SET = 0;
  public static final int TCP_UPSTREAM_CONNECTED = 1;
  public static final int TCP_PERIODIC = 2;
  public static final int TCP_CONNECTION_END = 3;
  public static final int DOWNSTREAM_END = 6;
  /** AccessLogType UdpSessionEnd: a udp_proxy session's entry, written when it ends. */
  public static final int UDP_SESSION_END = 11;
  /** The body of the proxy's own reply (%LOCAL_REPLY_BODY%), set while a local reply is rendered; null otherwise. */
  public String localReplyBody;
  /** Values of {@link AccessLogger#requestHeaders()}, in order; null when absent. */
  public String[] requestHeaders = new String[0];
  /** Values of {@link AccessLogger#responseHeaders()}, in order; null when absent. */
  public String[] responseHeaders = new String[0];

  /**
   * Copies the request's values of {@code names} (lower case; {@code :method}, {@code :path}, {@code :authority} and
   * {@code :scheme} read as Envoy's pseudo-headers) into {@link #requestHeaders}, which holds at least that many slots.
   *
   * @param request the request head, or null (a reply before one was parsed: every value absent)
   * @param uri     the request target as sent (path and query)
   */
  public void copyRequestHeaders(String[] names, io.keelson.dataplane.route.RequestHead request, String uri) {
    for (int i = 0; i < names.length; i++) {
      requestHeaders[i] = request == null ? null : switch (names[i]) {
        case ":method" -> request.method();
        case ":path" -> uri;
        case ":authority" -> request.authority();
        case ":scheme" -> request.scheme() != null ? request.scheme() : "http";
        default -> request.header(names[i]);
      };
    }
  }

  void clear() {
    logger = null;
    method = null;
    path = null;
    upstreamHost = null;
    upstreamCluster = null;
    downstreamRemoteAddress = null;
    downstreamLocalAddress = null;
    routeName = null;
    upstreamLocalAddress = null;
    requestedServerName = null;
    downstreamTlsVersion = null;
    downstreamPeerUriSan = null;
    grpcStatus = null;
    localReplyBody = null;
    java.util.Arrays.fill(requestHeaders, null);
    java.util.Arrays.fill(responseHeaders, null);
  }
}
