package io.keelson.dataplane.config;

/**
 * One listening socket and what runs on it: exactly one of {@code http} and {@code tcpProxy} is
 * non-null. Immutable.
 *
 * @param name     Envoy listener name
 * @param host     bind address (IP literal or host name)
 * @param port     bind port (0 = ephemeral, used by tests)
 * @param http     the HTTP connection manager on this listener's filter chain, or null
 * @param tcpProxy the TCP proxy on this listener's filter chain, or null
 */
public record ListenerConfig(
    String name, String host, int port, HttpConnectionManagerConfig http, TcpProxyConfig tcpProxy) {

  public ListenerConfig {
    if ((http == null) == (tcpProxy == null)) {
      throw new IllegalArgumentException(
          "listener '" + name + "' must have exactly one of http and tcpProxy");
    }
  }

  /** An HTTP listener. */
  public ListenerConfig(String name, String host, int port, HttpConnectionManagerConfig http) {
    this(name, host, port, http, null);
  }

  public boolean isHttp() {
    return http != null;
  }
}
