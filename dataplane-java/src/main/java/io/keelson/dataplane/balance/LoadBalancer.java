package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import java.util.random.RandomGenerator;

/**
 * Chooses an endpoint of one cluster. Threading: {@link #pick} is called by one thread at a time
 * (the balance stage's single writer: its ring thread, or the event loop that owns an inline
 * pipeline); {@link #onRequestStart}, {@link #onRequestEnd} and {@link #activeRequests} may be
 * called from any thread. Nothing allocates after construction.
 */
public interface LoadBalancer {

  /** Index of the chosen endpoint, or -1 when the cluster has none. */
  int pick();

  /**
   * Index of the endpoint for a request hash (ring hash, Maglev); policies that do not hash ignore
   * it and pick as {@link #pick()} does.
   */
  default int pick(long hash) {
    return pick();
  }

  EndpointConfig endpoint(int index);

  /** Number of endpoints. */
  int size();

  /** A request was sent to endpoint {@code index} (least request counts these). */
  void onRequestStart(int index);

  /** A request to endpoint {@code index} finished, whatever its outcome. */
  void onRequestEnd(int index);

  /** Requests started and not yet ended on endpoint {@code index}. */
  int activeRequests(int index);

  /**
   * The balancer for a cluster's lb_policy.
   *
   * @param random used by this balancer only, from the thread that calls {@link #pick}
   */
  static LoadBalancer create(ClusterConfig cluster, RandomGenerator random) {
    if (PriorityBalancer.hasLevels(cluster.endpoints())) {
      return new PriorityBalancer(cluster, random); // each level is balanced by this method again, at priority 0
    }
    EndpointConfig[] endpoints = cluster.endpoints().toArray(new EndpointConfig[0]);
    if (cluster.lb().localityWeighted() && !cluster.lbPolicy().hashes()) {
      return new LocalityWeightedBalancer(cluster, random);
    }
    return switch (cluster.lbPolicy()) {
      case ROUND_ROBIN -> new RoundRobinBalancer(endpoints, random);
      case LEAST_REQUEST -> new LeastRequestBalancer(endpoints, random);
      case RANDOM -> new RandomBalancer(endpoints, random);
      case MAGLEV -> new MaglevBalancer(endpoints, random, cluster.lb().maglevTableSize());
      case RING_HASH -> new RingHashBalancer(endpoints, random, cluster.lb().minRingSize(), cluster.lb().maxRingSize());
      // No endpoints: the host is the connection's original destination, picked per connection (intercept package).
      case CLUSTER_PROVIDED -> new RoundRobinBalancer(endpoints, random);
    };
  }
}
