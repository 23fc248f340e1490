package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * A listener's {@code envoy.filters.listener.proxy_protocol} (Envoy's {@code ProxyProtocol}): each connection must
 * start with a PROXY protocol header, whose addresses become the connection's remote and local addresses. Immutable.
 *
 * @param allowWithout  {@code allow_requests_without_proxy_protocol}: a connection whose first bytes cannot start a
 *                      header is served as it is (its socket's addresses)
 * @param v1Disallowed  {@code disallowed_versions} names V1: a v1 header closes the connection
 * @param v2Disallowed  {@code disallowed_versions} names V2
 * @param statPrefix    {@code stat_prefix} ("" for none): the counters are {@code proxy_proto.[<prefix>.]...}
 * @param timeout       the listener's {@code listener_filters_timeout} (Envoy's default 15 s; zero waits for ever): a
 *                      client that has not sent a whole header by then is closed
 */
public record ProxyProtocolConfig(boolean allowWithout, boolean v1Disallowed, boolean v2Disallowed, String statPrefix,
    Duration timeout) {

  /** Whether a header of {@code version} (1 or 2) is refused. */
  public boolean disallows(int version) {
    return version == 1 ? v1Disallowed : v2Disallowed;
  }

  /** The root of this filter's counters: {@code proxy_proto.} or {@code proxy_proto.<stat_prefix>.}. */
  public String statRoot() {
    return statPrefix.isEmpty() ? "proxy_proto." : "proxy_proto." + statPrefix + ".";
  }
}
