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
 * @param prematureResetTotalStreamCount        downstream only: a connection whose streams the client resets
 *                                              prematurely is closed once the resets reach half of this many
 *                                              closed streams, or half of all its closed streams after that many
 *                                              (Envoy's runtime key {@code overload.premature_reset_total_stream_count},
 *                                              default 500; not a field of Envoy's Http2ProtocolOptions)
 * @param prematureResetMinStreamLifetimeSeconds downstream only: a reset counts as premature when the stream lived
 *                                              no more than this many whole seconds (Envoy's runtime key
 *                                              {@code overload.premature_reset_min_stream_lifetime_seconds}, default 1)
 * @param allowConnect                allow_connect: downstream, SETTINGS_ENABLE_CONNECT_PROTOCOL is sent and RFC 8441's
 *                                    extended CONNECT ({@code :protocol}) accepted as an upgrade of that type
 */
public record Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize,
    java.time.Duration keepaliveInterval, java.time.Duration keepaliveTimeout,
    int prematureResetTotalStreamCount, long prematureResetMinStreamLifetimeSeconds, boolean allowConnect) {
  /** Envoy's default of {@code overload.premature_reset_total_stream_count}. */
  public static final int DEFAULT_PREMATURE_RESET_TOTAL_STREAM_COUNT = 500;
  /** Envoy's default of {@code overload.premature_reset_min_stream_lifetime_seconds}. */
  public static final long DEFAULT_PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS = 1;
  /** Keelson's defaults: smaller windows than Envoy's so that one connection's buffering stays bounded. */
  public static final Http2Options DEFAULT = new Http2Options(1024, 1024 * 1024, 2 * 1024 * 1024);

  public Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize) {
    this(maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, java.time.Duration.ZERO, java.time.Duration.ZERO);
  }

  public Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize,
      java.time.Duration keepaliveInterval, java.time.Duration keepaliveTimeout,
      int prematureResetTotalStreamCount, long prematureResetMinStreamLifetimeSeconds) {
    this(maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, keepaliveInterval, keepaliveTimeout,
        prematureResetTotalStreamCount, prematureResetMinStreamLifetimeSeconds, false);
  }

  public Http2Options(int maxConcurrentStreams, int initialStreamWindowSize, int initialConnectionWindowSize,
      java.time.Duration keepaliveInterval, java.time.Duration keepaliveTimeout) {
    this(maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, keepaliveInterval, keepaliveTimeout,
        DEFAULT_PREMATURE_RESET_TOTAL_STREAM_COUNT, DEFAULT_PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS);
  }

  /** These options with the premature-reset check's settings replaced. */
  public Http2Options withPrematureResets(int totalStreamCount, long minStreamLifetimeSeconds) {
    return new Http2Options(maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, keepaliveInterval,
        keepaliveTimeout, totalStreamCount, minStreamLifetimeSeconds, allowConnect);
  }

  public Http2Options {
    if (maxConcurrentStreams < 1) {
      throw new IllegalArgumentException("max_concurrent_streams must be at least 1");
    }
    if (initialStreamWindowSize < 65_535 || initialConnectionWindowSize < 65_535) {
      throw new IllegalArgumentException("HTTP/2 windows must be at least 65535");
    }
    if (prematureResetTotalStreamCount < 1 || prematureResetMinStreamLifetimeSeconds < 0) {
      throw new IllegalArgumentException("premature_reset_total_stream_count must be at least 1 and "
          + "premature_reset_min_stream_lifetime_seconds at least 0");
    }
  }
}
