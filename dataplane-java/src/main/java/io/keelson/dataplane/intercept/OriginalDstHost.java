package io.keelson.dataplane.intercept;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.OriginalDstConfig;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * An {@code ORIGINAL_DST} cluster's host for one downstream connection, as a balancer of one endpoint (index 0):
 * the connection's original destination; or none (every pick is -1: "no healthy upstream", Envoy's {@code UH}) when
 * the connection was not redirected, so a connection made to the proxy's own listener is never proxied back to it.
 * Built once per downstream connection (or per request that names its host in the cluster's HTTP header).
 * Threading: confined to the downstream connection's event loop.
 */
public final class OriginalDstHost implements LoadBalancer {
  private static final OriginalDstHost NONE = new OriginalDstHost(null);

  private final EndpointConfig endpoint;
  private int active;

  private OriginalDstHost(EndpointConfig endpoint) {
    this.endpoint = endpoint;
  }

  /** The host for connections of {@code downstream} (its restored original destination), or one with no host. */
  public static OriginalDstHost of(Channel downstream) {
    InetSocketAddress original = OriginalDestination.of(downstream);
    if (original == null || original.getAddress() == null) {
      return NONE;
    }
    return new OriginalDstHost(new EndpointConfig(original.getAddress().getHostAddress(), original.getPort(), 1));
  }

  /**
   * The host a request names in the cluster's {@code use_http_header} header ({@code ip:port} or {@code [ip6]:port}),
   * or null when the value is not an IP address with a port (Envoy then uses the connection's original destination).
   */
  public static OriginalDstHost fromHeader(String value) {
    if (value == null) {
      return null;
    }
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      return null;
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value, colon + 1, value.length(), 10);
      java.net.InetAddress.ofLiteral(host);
    } catch (IllegalArgumentException e) {
      return null;
    }
    return port < 1 || port > 65535 ? null : new OriginalDstHost(new EndpointConfig(host, port, 1));
  }

  /** The header a request may name its host in, for {@code options}; null when the cluster does not read one. */
  public static String header(OriginalDstConfig options) {
    return options != null && options.useHttpHeader() ? options.httpHeaderName() : null;
  }

  @Override
  public int pick() {
    return endpoint == null ? -1 : 0;
  }

  @Override
  public EndpointConfig endpoint(int index) {
    return endpoint;
  }

  @Override
  public int size() {
    return endpoint == null ? 0 : 1;
  }

  @Override
  public void onRequestStart(int index) {
    active++;
  }

  @Override
  public void onRequestEnd(int index) {
    active--;
  }

  @Override
  public int activeRequests(int index) {
    return active;
  }
}
