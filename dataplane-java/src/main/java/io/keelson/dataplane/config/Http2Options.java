package io.keelson.dataplane.config;

/**
 * Envoy's Http2ProtocolOptions, the fields Keelson runs: on a connection manager they bound what a
 * downstream HTTP/2 client may open; on a cluster they make the upstream protocol HTTP/2. Immutable.
 *
 * @param maxConcurrentStreams        SETTINGS_MAX_CONCURRENT_STREAMS (Envoy default 2147483647; Keelson 1024 downstream)
 * @param initialStreamWindowSize     SETTINGS_INITIAL_WINDOW_SIZE (Envoy default 256 MiB; Keelson 1 MiB)
 * @param initialConnectionWindowSize the connection window announced with a WINDOW_UPDATE on stream 0
 * @param keepaliveInterval           connection_keepalive.interval: a PING this often (ZERO: none); upstream only
 * @param keepaliveTimeout            connection_keepalive.timeout: the connection is closed when a PING's ACK
 *                                    takes longer than this
 */
public record Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize,
    java.time.Duration keepaliveInterval, java.time.Duration keepaliveTimeout) {
  /** Keelson's defaults: smaller windows than Envoy's so that one connection's buffering stays bounded. */
  public static final Http2Options DEFAULT = new Http2Options(1024, 1024 * 1024, 2 * 1024 * 1024);

  public Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize) {
    this(maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, java.time.Duration.ZERO, java.time.Duration.ZERO);
  }

  public Http2Options {
    if (maxConcurrentStreams < 1) {
      throw new IllegalArgumentException("max_concurrent_streams must be at least 1");
    }
    if (initialStreamWindowSize < 65_535 || initialConnectionWindowSize < 65_535) {
      throw new IllegalArgumentException("HTTP/2 windows must be at least 65535");
    }
  }
}
