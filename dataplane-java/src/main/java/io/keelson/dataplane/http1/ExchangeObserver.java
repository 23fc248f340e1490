package io.keelson.dataplane.http1;

import io.keelson.dataplane.accesslog.AccessLogRecord;
import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.routing.ServingListener;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.tracing.HopSpan;

/**
 * The access log record and the tracing span of one exchange, shared by the HTTP/1.1 connection
 * handler and the HTTP/2 stream proxy: the trace is propagated when the request is forwarded, the
 * response headers the logs name are copied when the response head arrives, and {@link #end} logs
 * and ends the span once. One per connection (HTTP/1.1) or stream (HTTP/2), reset per exchange.
 * Event-loop confined.
 */
public final class ExchangeObserver {
  private final ProxyContext context;
  private ListenerConfig loggerConfig;
  private AccessLogger accessLogger;
  /** This hop's trace ids, reused by every exchange (an unsampled one allocates only the upstream header). */
  private final TraceContext.Hop hop = new TraceContext.Hop();
  private HopSpan span;
  /** The response header values copied for the access log, or null when none were (no response head yet). */
  private String[] responseHeaderValues;
  private String[] responseHeaderBuffer = new String[0];
  /** The response's grpc-status (trailers' over headers'), noted only when a log's filter reads it. */
  private String grpcStatus;
  /** The request was a health check (envoy.filters.http.health_check marked it). */
  private boolean healthCheck;

  public ExchangeObserver(ProxyContext context) {
    this.context = context;
  }

  /** Forgets the previous exchange (an unfinished span is dropped, as the connection was reused). */
  public void reset() {
    span = null;
    grpcStatus = null;
    healthCheck = false;
    if (responseHeaderValues != null) {
      java.util.Arrays.fill(responseHeaderValues, null);
      responseHeaderValues = null;
    }
  }

  /**
   * Reads the incoming trace context, writes this hop's upstream and starts its span when sampled.
   *
   * @param protocol   "HTTP/1.1", "HTTP/2", ...
   * @param startNanos the exchange's start on {@link System#nanoTime()}
   * @return whether this hop's span is sampled (false when the connection manager does not trace)
   */
  public boolean trace(TracingConfig tracing, RequestHead request, String protocol,
      TraceContext.Setter upstreamHeaders, long startNanos, String remoteIp) {
    if (tracing == null || !TraceContext.propagate(request, upstreamHeaders, tracing, hop)) {
      return false;
    }
    span = context.startSpan(tracing, hop, request.method(), startNanos);
    if (span != null) {
      span.request(request, protocol.substring(protocol.indexOf('/') + 1), remoteIp);
    }
    return true;
  }

  /** Marks this exchange a health check when {@code healthCheck} (not_health_check_filter leaves it out). */
  public void healthCheck(boolean healthCheck) {
    this.healthCheck = healthCheck;
  }

  /** Copies the response headers the access logs name (before the proxy rewrites them); no lambda per response. */
  public void responseHead(ServingListener listener, io.keelson.dataplane.http1.codec.Http1Headers responseHeaders) {
    AccessLogger log = accessLogger(listener);
    if (log != null && log.responseHeaders().length > 0) {
      String[] names = log.responseHeaders();
      String[] values = responseHeaderValues(names.length);
      for (int i = 0; i < names.length; i++) {
        values[i] = responseHeaders.get(names[i]);
      }
    }
    if (log != null && log.readsGrpcStatus()) {
      grpcStatus = responseHeaders.get(GRPC_STATUS);
    }
  }

  private static final String GRPC_STATUS = "grpc-status";

  /** Notes the response trailers' grpc-status when a log's filter reads it (Envoy reads trailers before headers). */
  public void responseTrailers(ServingListener listener, io.keelson.dataplane.http1.codec.Http1Headers trailers) {
    if (readsGrpcStatus(listener)) {
      trailerGrpcStatus(trailers.get(GRPC_STATUS));
    }
  }

  /** Notes the response trailers' grpc-status when a log's filter reads it (HTTP/2 and Netty-decoded responses). */
  public void responseTrailers(ServingListener listener, io.netty.handler.codec.http.HttpHeaders trailers) {
    if (readsGrpcStatus(listener)) {
      trailerGrpcStatus(trailers.get(GRPC_STATUS));
    }
  }

  /**
   * The grpc-status of the proxy's own trailers-only gRPC (or gRPC-Web) reply, which no upstream head carries: without
   * it the logs would infer UNKNOWN from the HTTP 200.
   */
  public void localGrpcStatus(int code) {
    grpcStatus = Integer.toString(code);
  }

  private boolean readsGrpcStatus(ServingListener listener) {
    AccessLogger log = accessLogger(listener);
    return log != null && log.readsGrpcStatus();
  }

  private void trailerGrpcStatus(String v) {
    if (v != null) {
      grpcStatus = v;
    }
  }

  /** Copies the response headers the access logs name (before the proxy rewrites them). */
  public void responseHead(ServingListener listener, java.util.function.Function<String, String> responseHeaders) {
    AccessLogger log = accessLogger(listener);
    if (log != null && log.responseHeaders().length > 0) {
      String[] names = log.responseHeaders();
      String[] values = responseHeaderValues(names.length);
      for (int i = 0; i < names.length; i++) {
        values[i] = responseHeaders.apply(names[i]);
      }
    }
    if (log != null && log.readsGrpcStatus()) {
      grpcStatus = responseHeaders.apply(GRPC_STATUS);
    }
  }

  /** This exchange's copied response header values, in an array reused by the next exchanges. */
  private String[] responseHeaderValues(int n) {
    if (responseHeaderBuffer.length < n) {
      responseHeaderBuffer = new String[n];
    }
    responseHeaderValues = responseHeaderBuffer;
    return responseHeaderBuffer;
  }

  /**
   * Logs the exchange and ends its span.
   *
   * @param uri          the request target as sent (path and query)
   * @param protocol     "HTTP/1.1", "HTTP/2", ...
   * @param upstreamHost the chosen upstream host (toString "ip:port"), or null when none was tried
   * @param localAddress the connection's local address as its filters saw it (the original destination, if restored)
   * @param connection   the downstream connection (its TLS session: %DOWNSTREAM_TLS_VERSION%, %DOWNSTREAM_PEER_URI_SAN%)
   */
  public void end(ServingListener listener, RequestHead request, String uri, String protocol, long durationNanos, int status, ResponseFlag flag,
      long bytesReceived, long bytesSent, String cluster, Object upstreamHost, String remoteAddress,
      java.net.InetSocketAddress localAddress, String routeName, io.netty.channel.Channel connection) {
    AccessLogger log = accessLogger(listener);
    if (log != null) {
      AccessLogRecord r = log.claim();
      if (r != null) {
        r.startEpochMillis = System.currentTimeMillis() - durationNanos / 1_000_000;
        r.durationNanos = durationNanos;
        r.method = request.method();
        r.path = uri;
        r.protocol = protocol;
        r.status = status;
        r.flag = flag;
        r.bytesReceived = bytesReceived;
        r.bytesSent = bytesSent;
        r.upstreamHost = upstreamHost;
        r.upstreamCluster = cluster;
        r.downstreamRemoteAddress = remoteAddress;
        r.downstreamLocalAddress = localAddress;
        r.routeName = routeName;
        r.logType = AccessLogRecord.DOWNSTREAM_END;
        r.grpcStatus = grpcStatus;
        r.healthCheck = healthCheck;
        if (connection != null) {
          io.keelson.dataplane.accesslog.DownstreamTls.Info tls = io.keelson.dataplane.accesslog.DownstreamTls.of(connection);
          r.downstreamTlsVersion = tls.version();
          r.downstreamPeerUriSan = tls.peerUriSan();
        }
        r.copyRequestHeaders(log.requestHeaders(), request, uri);
        String[] values = responseHeaderValues;
        int n = log.responseHeaders().length;
        for (int i = 0; i < n; i++) {
          r.responseHeaders[i] = values != null && i < values.length ? values[i] : null;
        }
        log.publish(r);
      }
    }
    if (span != null) {
      span.localAddress(localAddress);
      span.end(status, flag.code, cluster, upstreamHost != null ? upstreamHost.toString() : null, bytesReceived, bytesSent);
      span = null;
    }
  }

  /** The access logger of the current listener config; looked up again only when the config changes. */
  private AccessLogger accessLogger(ServingListener l) {
    if (l == null) {
      return null;
    }
    if (l.config() != loggerConfig) {
      loggerConfig = l.config();
      accessLogger = context.accessLogger(loggerConfig.http());
    }
    return accessLogger;
  }
}
