package io.keelson.dataplane.tracing;

import io.keelson.dataplane.route.RequestHead;

/**
 * One hop's Zipkin span as Envoy's zipkin tracer fills it: kind CLIENT on an outbound listener (Envoy's egress operation)
 * and SERVER otherwise, named by the request's authority, {@code localEndpoint.serviceName} the node's service cluster,
 * Envoy's tags ({@code http.method}, {@code http.url}, {@code http.status_code}, {@code upstream_cluster},
 * {@code guid:x-request-id}, {@code error}, ...). Filled on the event loop, then handed to its loop's
 * {@link ZipkinReporter}, which serializes it ({@link ZipkinJson}, {@link ZipkinProto}); never changed after.
 */
public final class ZipkinSpan implements HopSpan {
  private static final int MAX_TAGS = 20;

  final long traceHi;
  final long traceLo;
  /** The trace id is 128-bit (32 hex digits), else 64-bit. */
  final boolean traceId128;
  final long id;
  final long parentId;
  final boolean hasParent;
  final boolean client;
  /** A SERVER span under its caller's span id (shared_span_context). */
  final boolean shared;
  final String serviceName;
  final long timestampMicros;
  private final long startNanos;
  private final ZipkinReporter reporter;
  String name;
  long durationMicros;
  /** The downstream connection's local IP, or null. */
  String localIp;
  final String[] tagKeys = new String[MAX_TAGS];
  final String[] tagValues = new String[MAX_TAGS];
  int tags;

  ZipkinSpan(ZipkinReporter reporter, long traceHi, long traceLo, boolean traceId128, long id, long parentId,
      boolean hasParent, boolean client, boolean shared, String serviceName, long startEpochNanos, long startNanos) {
    this.reporter = reporter;
    this.traceHi = traceHi;
    this.traceLo = traceLo;
    this.traceId128 = traceId128;
    this.id = id;
    this.parentId = parentId;
    this.hasParent = hasParent;
    this.client = client;
    this.shared = shared;
    this.serviceName = serviceName;
    this.timestampMicros = startEpochNanos / 1_000;
    this.startNanos = startNanos;
  }

  /** Envoy's setTag: empty names and values are left out. */
  void tag(String key, String value) {
    if (value != null && !value.isEmpty() && tags < MAX_TAGS) {
      tagKeys[tags] = key;
      tagValues[tags++] = value;
    }
  }

  /** Envoy's local endpoint IP. */
  @Override
  public void localAddress(java.net.InetSocketAddress address) {
    if (address != null && address.getAddress() != null) {
      this.localIp = address.getAddress().getHostAddress();
    }
  }

  @Override
  public void request(RequestHead request, String protocol, String client) {
    String authority = request.authority();
    name = authority == null ? "" : authority;
    tag("component", "proxy");
    tag("guid:x-request-id", request.header("x-request-id"));
    String query = request.query();
    String url = "http://" + name + request.path() + (query == null || query.isEmpty() ? "" : "?" + query);
    int max = reporter.maxPathTagLength();
    tag("http.url", url.length() > max ? url.substring(0, max) : url);
    tag("http.method", request.method());
    String downstream = request.header("x-envoy-downstream-service-cluster");
    tag("downstream_cluster", downstream == null ? "-" : downstream);
    String userAgent = request.header("user-agent");
    tag("user_agent", userAgent == null ? "-" : userAgent);
    tag("http.protocol", "HTTP/" + protocol);
    tag("peer.address", client);
  }

  @Override
  public void end(int status, String flags, String cluster, String upstream, long bytesReceived, long bytesSent) {
    durationMicros = Math.max(1, (System.nanoTime() - startNanos) / 1_000);
    tag("request_size", Long.toString(bytesReceived));
    tag("response_size", Long.toString(bytesSent));
    tag("response_flags", flags);
    tag("http.status_code", Integer.toString(status));
    tag("upstream_cluster", cluster);
    tag("upstream_cluster.name", cluster);
    tag("upstream_address", upstream);
    if (status == 0 || status >= 500) {
      tag("error", "true");
    }
    reporter.report(this);
  }
}
