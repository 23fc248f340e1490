package io.keelson.dataplane.route;

import io.keelson.dataplane.config.RouteAction;
import java.util.List;

/** Chooses a member of weighted_clusters from a uniform random draw. Stateless and thread-safe; allocates nothing. */
public final class WeightedPick {
  private WeightedPick() {}

  /**
   * Index of the chosen cluster.
   *
   * @param draw a uniform random int in [0, totalWeight)
   */
  public static int index(List<RouteAction.WeightedCluster> clusters, int draw) {
    int remaining = draw;
    int last = clusters.size() - 1;
    for (int i = 0; i < last; i++) {
      remaining -= clusters.get(i).weight();
      if (remaining < 0) {
        return i;
      }
    }
    return last;
  }

  /** The chosen cluster for a Forward action. */
  public static RouteAction.WeightedCluster pick(RouteAction.Forward forward, int draw) {
    List<RouteAction.WeightedCluster> clusters = forward.clusters();
    return clusters.size() == 1 ? clusters.getFirst() : clusters.get(index(clusters, draw));
  }
}
