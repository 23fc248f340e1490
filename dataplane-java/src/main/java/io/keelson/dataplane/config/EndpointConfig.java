package io.keelson.dataplane.config;

/**
 * One upstream endpoint. Immutable.
 *
 * @param weight load_balancing_weight (default 1, at least 1)
 */
public record EndpointConfig(String host, int port, int weight) {
  @Override
  public String toString() {
    return host + ":" + port;
  }
}
