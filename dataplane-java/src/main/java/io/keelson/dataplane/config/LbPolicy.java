package io.keelson.dataplane.config;

/** Envoy's lb_policy values that Keelson accepts in config. */
public enum LbPolicy {
  ROUND_ROBIN,
  LEAST_REQUEST,
  RANDOM,
  /** Maglev: the packet-path gateway (L4), and HTTP routes with a hash_policy. */
  MAGLEV,
  /** Ring hash (Ketama), for HTTP routes with a hash_policy. */
  RING_HASH,
  /** The cluster picks the host itself: an ORIGINAL_DST cluster's (the downstream connection's original destination). */
  CLUSTER_PROVIDED;

  /** True for the policies the socket path (HTTP and TCP proxying through Netty) runs today: all of them. */
  public boolean runsOnSocketPath() {
    return true;
  }

  /** True for the policies that pick by a request hash. */
  public boolean hashes() {
    return this == MAGLEV || this == RING_HASH;
  }
}
