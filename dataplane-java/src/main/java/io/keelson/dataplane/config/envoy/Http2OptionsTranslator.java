package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.keelson.dataplane.config.Http2Options;

/** Translates Envoy's Http2ProtocolOptions (connection manager and cluster) into {@link Http2Options}. Stateless. */
final class Http2OptionsTranslator {
  private static final long MAX_WINDOW = Integer.MAX_VALUE;

  private Http2OptionsTranslator() {}

  /** The options, or null after reporting a problem. */
  static Http2Options translate(Http2ProtocolOptions o, Http2Options defaults, String path, Problems problems) {
    boolean ok = true;
    int streams = defaults.maxConcurrentStreams();
    if (o.hasMaxConcurrentStreams()) {
      long v = Integer.toUnsignedLong(o.getMaxConcurrentStreams().getValue());
      if (v < 1 || v > Integer.MAX_VALUE) {
        problems.error(path + ".max_concurrent_streams", v + " is out of range; expected 1-2147483647");
        ok = false;
      }
      streams = (int) Math.min(v, Integer.MAX_VALUE);
    }
    int stream = defaults.initialStreamWindowSize();
    if (o.hasInitialStreamWindowSize()) {
      long v = Integer.toUnsignedLong(o.getInitialStreamWindowSize().getValue());
      if (v < 65_535 || v > MAX_WINDOW) {
        problems.error(path + ".initial_stream_window_size", v + " is out of range; expected 65535-2147483647");
        ok = false;
      }
      stream = (int) Math.min(v, MAX_WINDOW);
    }
    int connection = defaults.initialConnectionWindowSize();
    if (o.hasInitialConnectionWindowSize()) {
      long v = Integer.toUnsignedLong(o.getInitialConnectionWindowSize().getValue());
      if (v < 65_535 || v > MAX_WINDOW) {
        problems.error(path + ".initial_connection_window_size", v + " is out of range; expected 65535-2147483647");
        ok = false;
      }
      connection = (int) Math.min(v, MAX_WINDOW);
    }
    java.time.Duration interval = java.time.Duration.ZERO;
    java.time.Duration timeout = java.time.Duration.ZERO;
    if (o.hasConnectionKeepalive()) {
      var k = o.getConnectionKeepalive();
      String at = path + ".connection_keepalive";
      if (!k.hasTimeout() || RouteTranslator.duration(k.getTimeout()).toMillis() < 1) {
        problems.error(at + ".timeout", "missing or below 1ms; expected how long to wait for a PING's ACK");
        ok = false;
      } else {
        timeout = RouteTranslator.duration(k.getTimeout());
      }
      if (k.hasInterval() && RouteTranslator.duration(k.getInterval()).toMillis() >= 1) {
        interval = RouteTranslator.duration(k.getInterval());
      } else {
        problems.warn(at + ".interval", "no PING is sent without an interval (connection_idle_interval is not supported)");
      }
    }
    return ok ? new Http2Options(streams, stream, connection, interval, timeout,
        defaults.prematureResetTotalStreamCount(), defaults.prematureResetMinStreamLifetimeSeconds(), o.getAllowConnect())
        : null;
  }

  /**
   * The HTTP/2 options of a cluster's {@code envoy.extensions.upstreams.http.v3.HttpProtocolOptions}
   * (explicit_http_config.http2_protocol_options), Http2Options.DEFAULT-based; null for HTTP/1.1 or on error.
   */
  static Http2Options upstream(Any typed, String path, Problems problems) {
    HttpProtocolOptions options;
    try {
      options = typed.unpack(HttpProtocolOptions.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(path, "cannot decode HttpProtocolOptions: " + e.getMessage());
      return null;
    }
    if (options.hasExplicitHttpConfig() && options.getExplicitHttpConfig().hasHttp2ProtocolOptions()) {
      return translate(options.getExplicitHttpConfig().getHttp2ProtocolOptions(), Http2Options.DEFAULT,
          path + ".explicit_http_config.http2_protocol_options", problems);
    }
    return null;
  }
}
