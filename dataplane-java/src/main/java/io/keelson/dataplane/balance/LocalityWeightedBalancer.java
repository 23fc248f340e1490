package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Envoy's locality-weighted balancing: a locality is chosen by its load_balancing_weight (smooth
 * weighted round robin over localities), then an endpoint in it by the cluster's policy. Localities
 * without a weight take no traffic, as in Envoy. See {@link LoadBalancer} for threading.
 */
final class LocalityWeightedBalancer implements LoadBalancer {
  private final EndpointConfig[] endpoints;
  private final LoadBalancer[] localities;
  private final int[][] members;
  private final long[] weights;
  private final long[] current;
  private final long totalWeight;
  private final int[] localityOf;
  private final int[] localIndex;

  LocalityWeightedBalancer(ClusterConfig cluster, RandomGenerator random) {
    List<EndpointConfig> all = cluster.endpoints();
    endpoints = all.toArray(new EndpointConfig[0]);
    localityOf = new int[endpoints.length];
    localIndex = new int[endpoints.length];
    Map<String, List<Integer>> byLocality = new LinkedHashMap<>();
    for (int i = 0; i < endpoints.length; i++) {
      if (endpoints[i].localityWeight() > 0) {
        byLocality.computeIfAbsent(endpoints[i].locality(), k -> new ArrayList<>()).add(i);
      }
      localityOf[i] = -1;
    }
    int n = byLocality.size();
    localities = new LoadBalancer[n];
    members = new int[n][];
    weights = new long[n];
    current = new long[n];
    long total = 0;
    int l = 0;
    for (List<Integer> indices : byLocality.values()) {
      members[l] = indices.stream().mapToInt(Integer::intValue).toArray();
      List<EndpointConfig> subset = new ArrayList<>();
      for (int k = 0; k < members[l].length; k++) {
        subset.add(endpoints[members[l][k]]);
        localityOf[members[l][k]] = l;
        localIndex[members[l][k]] = k;
      }
      weights[l] = endpoints[members[l][0]].localityWeight();
      total += weights[l];
      localities[l] = LoadBalancer.create(ClusterConfig.builder(cluster.name(), cluster.lbPolicy(), cluster.connectTimeout(), subset)
          .lb(cluster.lb().withoutLocalities()).build(), random);
      l++;
    }
    totalWeight = total;
  }

  @Override
  public int pick() {
    int n = localities.length;
    if (n == 0) {
      return -1;
    }
    int best = 0;
    long bestCurrent = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      long c = current[i] + weights[i];
      current[i] = c;
      if (c > bestCurrent) {
        bestCurrent = c;
        best = i;
      }
    }
    current[best] -= totalWeight;
    int local = localities[best].pick();
    return local < 0 ? -1 : members[best][local];
  }

  @Override
  public EndpointConfig endpoint(int index) {
    return endpoints[index];
  }

  @Override
  public int size() {
    return endpoints.length;
  }

  @Override
  public void onRequestStart(int index) {
    int l = localityOf[index];
    if (l >= 0) {
      localities[l].onRequestStart(localIndex[index]);
    }
  }

  @Override
  public void onRequestEnd(int index) {
    int l = localityOf[index];
    if (l >= 0) {
      localities[l].onRequestEnd(localIndex[index]);
    }
  }

  @Override
  public int activeRequests(int index) {
    int l = localityOf[index];
    return l < 0 ? 0 : localities[l].activeRequests(localIndex[index]);
  }
}
