package io.keelson.dataplane.config;

/** Envoy's lb_policy values that Keelson accepts in config. */
public enum LbPolicy {
  ROUND_ROBIN,
  LEAST_REQUEST,
  RANDOM,
  /** Accepted for the packet-path gateway (L4); the socket-path balancer comes later. */
  MAGLEV,
  /** Accepted in config; the socket-path balancer comes later. */
  RING_HASH;

  /** True for the policies the socket path (HTTP and TCP proxying through Netty) runs today. */
  public boolean runsOnSocketPath() {
    return this == ROUND_ROBIN || this == LEAST_REQUEST || this == RANDOM;
  }
}
