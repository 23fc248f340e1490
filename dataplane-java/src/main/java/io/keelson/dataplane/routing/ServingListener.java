package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.stats.HttpStats;

/** An HTTP listener as served: config, compiled route table, counters. Immutable. */
public record ServingListener(ListenerConfig config, RouteTable routes, HttpStats stats) {
  public String name() {
    return config.name();
  }
}
