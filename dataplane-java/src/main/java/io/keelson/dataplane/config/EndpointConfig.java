package io.keelson.dataplane.config;

/**
 * One upstream endpoint. Immutable.
 *
 * @param weight         load_balancing_weight (default 1, at least 1)
 * @param locality       its locality as {@code region/zone/sub_zone}, or "" when none is given
 * @param localityWeight its locality's load_balancing_weight, or 0 when none is given
 */
public record EndpointConfig(String host, int port, int weight, String locality, int localityWeight) {
  /** Without a locality. */
  public EndpointConfig(String host, int port, int weight) {
    this(host, port, weight, "", 0);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
