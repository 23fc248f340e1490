package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.pipeline.Stage;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.route.WeightedPick;
import java.util.SplittableRandom;

/**
 * Matches the virtual host and route, and for a forwarding route picks the weighted cluster.
 * Single writer of its random source.
 */
public final class RouteStage implements Stage<RoutingEvent> {
  private final SplittableRandom random = new SplittableRandom();

  @Override
  public void onEvent(RoutingEvent event) {
    event.clearOutputs();
    if (event.retryCluster != null) {
      event.cluster = event.retryCluster; // a retry keeps its route and cluster; only the host is picked again
      return;
    }
    RouteTable table = event.listener.routes();
    VirtualHostConfig vh = table.virtualHost(event.head.authority());
    if (vh == null) {
      return;
    }
    event.virtualHost = vh;
    RouteEntry route = table.route(vh, event.head);
    if (route == null) {
      return;
    }
    event.route = route;
    if (route.action() instanceof RouteAction.Forward forward) {
      RouteAction.WeightedCluster chosen =
          forward.clusters().size() == 1
              ? forward.clusters().getFirst()
              : WeightedPick.pick(forward, random.nextInt(forward.totalWeight()));
      event.weightedCluster = chosen;
      event.cluster = event.snapshot.cluster(chosen.name());
    }
  }
}
