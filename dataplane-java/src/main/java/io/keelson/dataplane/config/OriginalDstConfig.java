package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * An Envoy {@code type: ORIGINAL_DST} cluster ({@code lb_policy: CLUSTER_PROVIDED}): each connection or request goes
 * to the downstream connection's original destination (its restored local address), or, with
 * {@code useHttpHeader}, to the address in the request's {@code httpHeaderName} header. Immutable.
 *
 * @param useHttpHeader   original_dst_lb_config.use_http_header
 * @param httpHeaderName  original_dst_lb_config.http_header_name, lower case (Envoy's default x-envoy-original-dst-host)
 * @param cleanupInterval cleanup_interval (Envoy's default 5 s): upstream hosts unused this long are forgotten
 */
public record OriginalDstConfig(boolean useHttpHeader, String httpHeaderName, Duration cleanupInterval) {
  public static final String DEFAULT_HEADER = "x-envoy-original-dst-host";
  public static final Duration DEFAULT_CLEANUP_INTERVAL = Duration.ofSeconds(5);
  public static final OriginalDstConfig DEFAULTS = new OriginalDstConfig(false, DEFAULT_HEADER, DEFAULT_CLEANUP_INTERVAL);
}
