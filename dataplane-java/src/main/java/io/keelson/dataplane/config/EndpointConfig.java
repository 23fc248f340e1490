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

  /** This endpoint at {@code ip} (a DNS cluster's resolved address), all else kept. */
  public EndpointConfig withHost(String ip) {
    return new EndpointConfig(ip, port, weight, locality, localityWeight, priority, transportSocket);
  }

  /**
   * The address connections to this endpoint go to. The host must be an IP literal: a DNS cluster's names are resolved
   * in the background (io.keelson.dataplane.discovery), never by connection code, where a lookup would block an event
   * loop; a host name here is a bug and throws {@link IllegalStateException}.
   */
  public java.net.InetSocketAddress socketAddress() {
    java.net.InetSocketAddress a = literal(host, port);
    if (a == null) {
      throw new IllegalStateException("endpoint " + this + " is a host name; DNS clusters reach connection code"
          + " resolved (io.keelson.dataplane.discovery.DnsClusters)");
    }
    return a;
  }

  /** {@code host}'s address if it is an IP literal (no lookup), else null. */
  public static java.net.InetSocketAddress literal(String host, int port) {
    byte[] ip = io.netty.util.NetUtil.createByteArrayFromIpAddressString(host);
    if (ip == null) {
      return null;
    }
    try {
      return new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(ip), port);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException("an IP literal of " + ip.length + " bytes", e); // 4 or 16: cannot happen
    }
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
