package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Envoy's priority levels: a cluster's endpoints grouped by their locality's {@code priority} (0 the highest), each
 * level balanced by the cluster's policy on its own, and each pick first choosing a level by Envoy's priority load.
 * A level's health is its available endpoints' share times the overprovisioning factor (1.4), capped at 100%; level
 * 0 takes up to its health of the traffic, level 1 up to its health of what is left, and so on; when the levels'
 * healths add up to less than 100% the loads are scaled up to 100% (Envoy's normalized total health), and when no
 * endpoint is available at all everything goes to level 0 (panic). Without health tracking every endpoint counts as
 * available, so level 0 takes all traffic. Health comes from {@link #health}, which {@link HealthAwareBalancer} calls
 * when it wraps this balancer; each level is then wrapped in its own {@link HealthAwareBalancer}.
 *
 * <p>Built only for clusters with more than one level, so single-level clusters pay nothing. The levels' loads are
 * recomputed on each pick from the endpoints' health flags (one volatile read per endpoint). See {@link LoadBalancer}
 * for threading; nothing allocates after {@link #health}.
 */
final class PriorityBalancer implements LoadBalancer {
  /** Envoy's default overprovisioning factor, in percent. */
  static final int OVERPROVISIONING_PERCENT = 140;

  private final EndpointConfig[] endpoints;
  /** Per level, the cluster's indices of its endpoints. */
  private final int[][] members;
  /** Per level, its policy's balancer (over the level's endpoints, by level index). */
  private final LoadBalancer[] plain;
  /** Per level, what picks: {@link #plain}, or it wrapped with the level's health. */
  private final LoadBalancer[] levels;
  private final int[] levelOf;
  private final int[] localIndex;
  private final RandomGenerator random;
  /** Per cluster endpoint, its health; null while health is not tracked. */
  private EndpointHealth[] health;
  /** Scratch: each level's load in percent, recomputed per pick. */
  private final int[] load;

  PriorityBalancer(ClusterConfig cluster, RandomGenerator random) {
    endpoints = cluster.endpoints().toArray(new EndpointConfig[0]);
    int count = 0;
    for (EndpointConfig e : endpoints) {
      count = Math.max(count, e.priority() + 1);
    }
    List<List<Integer>> byLevel = new ArrayList<>();
    for (int l = 0; l < count; l++) {
      byLevel.add(new ArrayList<>());
    }
    levelOf = new int[endpoints.length];
    localIndex = new int[endpoints.length];
    for (int i = 0; i < endpoints.length; i++) {
      List<Integer> level = byLevel.get(endpoints[i].priority());
      levelOf[i] = endpoints[i].priority();
      localIndex[i] = level.size();
      level.add(i);
    }
    members = new int[count][];
    plain = new LoadBalancer[count];
    levels = new LoadBalancer[count];
    for (int l = 0; l < count; l++) {
      members[l] = byLevel.get(l).stream().mapToInt(Integer::intValue).toArray();
      List<EndpointConfig> subset = new ArrayList<>(members[l].length);
      for (int i : members[l]) {
        subset.add(endpoints[i].atPriorityZero());
      }
      plain[l] = LoadBalancer.create(ClusterConfig.builder(cluster.name(), cluster.lbPolicy(), cluster.connectTimeout(), subset)
          .lb(cluster.lb()).build(), random);
      levels[l] = plain[l];
    }
    this.random = random;
    this.load = new int[count];
  }

  /** True when {@code endpoints} span more than one priority level. */
  static boolean hasLevels(List<EndpointConfig> endpoints) {
    for (EndpointConfig e : endpoints) {
      if (e.priority() > 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * Takes the cluster's endpoint health (one per endpoint, in this balancer's order) and applies it per level. Called
   * by each {@link HealthAwareBalancer} that wraps this one (the last call wins; they share the endpoints' health).
   */
  void health(EndpointHealth[] all) {
    if (all.length != endpoints.length) {
      throw new IllegalArgumentException("health for " + all.length + " endpoints, balancer has " + endpoints.length);
    }
    this.health = all.clone();
    for (int l = 0; l < levels.length; l++) {
      EndpointHealth[] mine = new EndpointHealth[members[l].length];
      for (int k = 0; k < mine.length; k++) {
        mine[k] = all[members[l][k]];
      }
      levels[l] = new HealthAwareBalancer(plain[l], mine);
    }
  }

  @Override
  public int pick() {
    return toCluster(level(), -1L, false);
  }

  @Override
  public int pick(long hash) {
    return toCluster(level(), hash, true);
  }

  private int toCluster(int l, long hash, boolean hashed) {
    if (l < 0) {
      return -1;
    }
    int local = hashed ? levels[l].pick(hash) : levels[l].pick();
    return local < 0 ? -1 : members[l][local];
  }

  /** The level this pick goes to, by the levels' loads; -1 when the cluster has no endpoint. */
  private int level() {
    if (endpoints.length == 0) {
      return -1;
    }
    if (health == null) {
      return 0; // every endpoint counts as available: level 0 is 100% healthy
    }
    loads(load);
    int x = random.nextInt(100);
    for (int l = 0; l < load.length; l++) {
      x -= load[l];
      if (x < 0) {
        return l;
      }
    }
    return 0;
  }

  /** Envoy's priority load per level, in percent, from the current health (sums to 100). */
  void loads(int[] out) {
    int total = 0;
    for (int l = 0; l < members.length; l++) {
      int available = 0;
      for (int i : members[l]) {
        if (health == null || health[i].available()) {
          available++;
        }
      }
      out[l] = members[l].length == 0 ? 0
          : Math.min(100, OVERPROVISIONING_PERCENT * available / members[l].length);
      total += out[l];
    }
    if (total == 0) { // nothing available anywhere: panic at level 0
      java.util.Arrays.fill(out, 0);
      out[0] = 100;
      return;
    }
    int normalized = Math.min(100, total);
    int left = 100;
    for (int l = 0; l < out.length; l++) {
      int share = Math.min(left, out[l] * 100 / normalized);
      out[l] = share;
      left -= share;
    }
    for (int l = 0; left > 0 && l < out.length; l++) { // rounding: the rest to the first level with health
      if (out[l] > 0) {
        out[l] += left;
        left = 0;
      }
    }
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
    levels[levelOf[index]].onRequestStart(localIndex[index]);
  }

  @Override
  public void onRequestEnd(int index) {
    levels[levelOf[index]].onRequestEnd(localIndex[index]);
  }

  @Override
  public int activeRequests(int index) {
    return levels[levelOf[index]].activeRequests(localIndex[index]);
  }
}
