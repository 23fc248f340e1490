package io.keelson.dataplane.routing;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.filter.FilterChain;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.stats.HttpStats;

/** An HTTP listener as served: config, compiled route table, counters, compiled HTTP filters. Immutable. */
public record ServingListener(ListenerConfig config, RouteTable routes, HttpStats stats, FilterChain filters) {
  /** Without HTTP filters. */
  public ServingListener(ListenerConfig config, RouteTable routes, HttpStats stats) {
    this(config, routes, stats, FilterChain.EMPTY);
  }

  public String name() {
    return config.name();
  }
}
