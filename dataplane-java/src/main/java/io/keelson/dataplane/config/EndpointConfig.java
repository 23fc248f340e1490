package io.keelson.dataplane.config;

/**
 * One upstream endpoint. Immutable.
 *
 * @param weight         load_balancing_weight (default 1, at least 1)
 * @param locality       its locality as {@code region/zone/sub_zone}, or "" when none is given
 * @param localityWeight its locality's load_balancing_weight, or 0 when none is given
 * @param priority       its locality's priority (0, the default, is the highest; Envoy's priority levels)
 * @param transportSocket the index of the cluster's {@link ClusterConfig#transportSocketMatches} entry its metadata
 *                       matched, or {@link #CLUSTER_SOCKET} for the cluster's own transport_socket
 */
public record EndpointConfig(String host, int port, int weight, String locality, int localityWeight, int priority,
    int transportSocket) {
  /** {@link #transportSocket} of an endpoint that takes the cluster's transport_socket. */
  public static final int CLUSTER_SOCKET = -1;

  /** With the cluster's transport socket. */
  public EndpointConfig(String host, int port, int weight, String locality, int localityWeight, int priority) {
    this(host, port, weight, locality, localityWeight, priority, CLUSTER_SOCKET);
  }

  /** Without a locality. */
  public EndpointConfig(String host, int port, int weight) {
    this(host, port, weight, "", 0, 0);
  }

  /** At priority 0. */
  public EndpointConfig(String host, int port, int weight, String locality, int localityWeight) {
    this(host, port, weight, locality, localityWeight, 0);
  }

  /** This endpoint at priority 0 (a priority level's own balancer sees its endpoints so). */
  public EndpointConfig atPriorityZero() {
    return priority == 0 ? this : new EndpointConfig(host, port, weight, locality, localityWeight, 0, transportSocket);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
