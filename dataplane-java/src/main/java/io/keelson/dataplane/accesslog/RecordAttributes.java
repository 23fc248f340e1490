package io.keelson.dataplane.accesslog;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * The Envoy attributes ({@code docs/root/intro/arch_overview/advanced/attributes.rst}) a CEL access-log filter can
 * read from an {@link AccessLogRecord}, by their Envoy names. A header an attribute reads is registered with the
 * logger so the event loop copies it. Stateless.
 */
final class RecordAttributes {
  private RecordAttributes() {}

  /** The names Keelson reads, for error messages. */
  static final List<String> NAMES = List.of("response.code", "response.grpc_status", "response.flags", "response.size",
      "request.size", "request.duration", "request.method", "request.path", "request.url_path", "request.host",
      "request.scheme", "request.protocol", "request.useragent", "request.id", "request.referer", "request.headers['x']",
      "response.headers['x']", "source.address", "source.port", "destination.address", "destination.port",
      "upstream.address", "connection.mtls", "connection.requested_server_name", "connection.tls_version",
      "xds.cluster_name", "xds.route_name");

  /** Request attributes Envoy reads from one request header. */
  private static final Map<String, String> HEADER_ATTRIBUTES = Map.of("request.host", ":authority",
      "request.scheme", ":scheme", "request.useragent", "user-agent", "request.id", "x-request-id",
      "request.referer", "referer");

  /** The attribute {@code name}, or null when Keelson does not read it. */
  static CelValue of(String name, List<String> requestHeaders) {
    String header = HEADER_ATTRIBUTES.get(name);
    if (header != null) {
      return header(requestHeaders, header, true);
    }
    return switch (name) {
      case "response.code" -> CelValue.num(CelValue.Type.INT, r -> r.status > 0 ? r.status : CelValue.MISSING);
      case "response.grpc_status" -> CelValue.num(CelValue.Type.INT, r -> {
        int s = GrpcStatusOf.of(r);
        return s == GrpcStatusOf.NONE ? CelValue.MISSING : s;
      });
      case "response.flags" -> CelValue.num(CelValue.Type.INT, r -> EnvoyResponseFlags.bit(r.flag));
      case "response.size" -> CelValue.num(CelValue.Type.INT, r -> r.bytesSent);
      case "request.size" -> CelValue.num(CelValue.Type.INT, r -> r.bytesReceived);
      case "request.duration" -> CelValue.num(CelValue.Type.DURATION, r -> r.durationNanos);
      case "request.method" -> CelValue.str(r -> r.method);
      case "request.path" -> CelValue.str(r -> r.path);
      case "request.url_path" -> CelValue.str(r -> {
        String p = r.path;
        int q = p == null ? -1 : p.indexOf('?');
        return q < 0 ? p : p.substring(0, q); // allocates only for a path with a query
      });
      case "request.protocol" -> CelValue.str(r -> r.protocol);
      case "source.address" -> CelValue.str(r -> r.downstreamRemoteAddress);
      case "source.port" -> CelValue.num(CelValue.Type.INT, r -> port(r.downstreamRemoteAddress));
      case "destination.address" -> CelValue.str(r -> address(r.downstreamLocalAddress));
      case "destination.port" -> CelValue.num(CelValue.Type.INT,
          r -> r.downstreamLocalAddress == null ? CelValue.MISSING : r.downstreamLocalAddress.getPort());
      case "upstream.address" -> CelValue.str(r -> r.upstreamHost == null ? null : r.upstreamHost.toString());
      case "connection.mtls" -> CelValue.bool(r -> r.downstreamPeerUriSan != null ? CelValue.TRUE : CelValue.FALSE);
      case "connection.requested_server_name" -> CelValue.str(r -> r.requestedServerName == null ? "" : r.requestedServerName);
      case "connection.tls_version" -> CelValue.str(r -> r.downstreamTlsVersion);
      case "xds.cluster_name" -> CelValue.str(r -> r.upstreamCluster);
      case "xds.route_name" -> CelValue.str(r -> r.routeName);
      default -> null;
    };
  }

  /** Header {@code lowerName} of the request or the response (null, CEL's "no such key", when absent). */
  static CelValue header(List<String> names, String lowerName, boolean request) {
    int slot = slot(names, lowerName);
    return request ? CelValue.str(r -> slot < r.requestHeaders.length ? r.requestHeaders[slot] : null)
        : CelValue.str(r -> slot < r.responseHeaders.length ? r.responseHeaders[slot] : null);
  }

  private static int slot(List<String> names, String lowerName) {
    int i = names.indexOf(lowerName);
    if (i < 0) {
      names.add(lowerName);
      i = names.size() - 1;
    }
    return i;
  }

  /** The port at the end of "ip:port" ("[ip]:port"), read without allocating; MISSING when none. */
  private static long port(String address) {
    if (address == null) {
      return CelValue.MISSING;
    }
    int colon = address.lastIndexOf(':');
    long v = 0;
    for (int i = colon + 1; i < address.length(); i++) {
      char c = address.charAt(i);
      if (c < '0' || c > '9') {
        return CelValue.MISSING;
      }
      v = v * 10 + (c - '0');
    }
    return colon < 0 || colon == address.length() - 1 ? CelValue.MISSING : v;
  }

  /** "ip:port" ("[ip]:port" for IPv6), as Envoy's address attributes; allocates. */
  private static String address(InetSocketAddress a) {
    if (a == null || a.getAddress() == null) {
      return null;
    }
    String ip = a.getAddress().getHostAddress();
    return (a.getAddress() instanceof java.net.Inet6Address ? "[" + ip + "]" : ip) + ":" + a.getPort();
  }
}
