package io.keelson.dataplane.rbac;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A mutable {@link RequestView} backed by fields and a header map: for tests, {@code explain}-style
 * tools and the connection-level (L4) check. Hot paths should implement RequestView over their own
 * request objects instead. Not thread-safe.
 */
public final class SimpleRequestView extends ConnectionFacts {
  private String method;
  private String path;
  private String host;
  private final Map<String, String> headers = new HashMap<>();
  private io.keelson.dataplane.filter.DynamicMetadata metadata;

  public SimpleRequestView() {
    directRemoteIp = new byte[4];
    sourceIp = directRemoteIp;
    destinationIp = new byte[4];
  }

  public static SimpleRequestView http(String method, String path) {
    return new SimpleRequestView().method(method).path(path);
  }

  public SimpleRequestView method(String m) {
    this.method = m;
    return this;
  }

  /** Sets the path; a query string is cut off, as url_path matches the path only. */
  public SimpleRequestView path(String p) {
    int q = p == null ? -1 : p.indexOf('?');
    this.path = q < 0 ? p : p.substring(0, q);
    return this;
  }

  /** The request's dynamic metadata (e.g. a verified JWT's), or null. */
  public SimpleRequestView metadata(io.keelson.dataplane.filter.DynamicMetadata m) {
    this.metadata = m;
    return this;
  }

  @Override
  public Object metadata(String filter, String[] path) {
    return metadata == null ? null : metadata.value(filter, path);
  }

  public SimpleRequestView host(String h) {
    this.host = h;
    return this;
  }

  public SimpleRequestView header(String name, String value) {
    headers.merge(name.toLowerCase(Locale.ROOT), value, (a, b) -> a + "," + b);
    return this;
  }

  /** A peer that presented a verified certificate with this SPIFFE URI (null: a certificate without one). */
  public SimpleRequestView peer(String spiffeUri) {
    this.authenticated = true;
    this.principal = spiffeUri;
    return this;
  }

  /** The socket's peer (and the downstream address, until {@link #proxyProtocolSource} names another). */
  public SimpleRequestView source(String ip) {
    this.directRemoteIp = addr(ip);
    this.sourceIp = directRemoteIp;
    return this;
  }

  /** The client a PROXY protocol header carried: the downstream address, while the peer stays the socket's. */
  public SimpleRequestView proxyProtocolSource(String ip) {
    this.sourceIp = addr(ip);
    return this;
  }

  public SimpleRequestView forwardedFor(String ip) {
    this.remoteIp = addr(ip);
    return this;
  }

  public SimpleRequestView destination(String ip, int port) {
    this.destinationIp = addr(ip);
    this.destinationPort = port;
    return this;
  }

  public SimpleRequestView destinationPort(int port) {
    this.destinationPort = port;
    return this;
  }

  public SimpleRequestView sni(String name) {
    this.sni = name;
    return this;
  }

  private static byte[] addr(String ip) {
    try {
      return InetAddress.getByName(ip).getAddress();
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(ip + " is not an IP address");
    }
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public String header(String lowerName) {
    return switch (lowerName) {
      case ":method" -> method;
      case ":path" -> path;
      case ":authority", "host" -> host != null ? host : headers.get(lowerName);
      default -> headers.get(lowerName);
    };
  }
}
