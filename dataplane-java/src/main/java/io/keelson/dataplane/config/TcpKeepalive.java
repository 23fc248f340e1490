package io.keelson.dataplane.config;

/**
 * Envoy's {@code upstream_connection_options.tcp_keepalive} of a cluster: SO_KEEPALIVE on every upstream connection,
 * with the kernel's probe settings overridden where set. Immutable.
 *
 * @param probes          TCP_KEEPCNT: unanswered probes before the connection is dropped, or null for the kernel's
 * @param timeSeconds     TCP_KEEPIDLE: idle seconds before the first probe, or null for the kernel's
 * @param intervalSeconds TCP_KEEPINTVL: seconds between probes, or null for the kernel's
 */
public record TcpKeepalive(Integer probes, Integer timeSeconds, Integer intervalSeconds) {
  public TcpKeepalive {
    for (Integer v : new Integer[] {probes, timeSeconds, intervalSeconds}) {
      if (v != null && v < 1) {
        throw new IllegalArgumentException("tcp keepalive settings must be at least 1, got " + v);
      }
    }
  }
}
