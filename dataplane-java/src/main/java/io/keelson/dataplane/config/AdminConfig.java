package io.keelson.dataplane.config;

/**
 * Where the admin listener binds (the bootstrap's {@code admin.address.socket_address}). Immutable.
 */
public record AdminConfig(String host, int port) {
  /** Envoy-style default used when neither the bootstrap nor {@code --admin} names one. */
  public static final AdminConfig DEFAULT = new AdminConfig("127.0.0.1", 9901);

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
