package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.concurrent.atomic.AtomicIntegerArray;

/** The endpoints of a cluster and their active-request counters, shared by every policy. See {@link LoadBalancer} for threading. */
abstract class EndpointSet implements LoadBalancer {
  final EndpointConfig[] endpoints;
  final AtomicIntegerArray active;
  /** True when every endpoint has the same weight, so policies can take their unweighted fast path. */
  final boolean equalWeights;

  EndpointSet(EndpointConfig[] endpoints) {
    this.endpoints = endpoints.clone();
    this.active = new AtomicIntegerArray(endpoints.length);
    boolean equal = true;
    for (EndpointConfig e : endpoints) {
      if (e.weight() < 1) {
        throw new IllegalArgumentException("endpoint " + e + " has weight " + e.weight() + "; expected at least 1");
      }
      equal &= e.weight() == endpoints[0].weight();
    }
    this.equalWeights = equal;
  }

  @Override
  public final EndpointConfig endpoint(int index) {
    return endpoints[index];
  }

  @Override
  public final int size() {
    return endpoints.length;
  }

  @Override
  public final void onRequestStart(int index) {
    active.getAndIncrement(index);
  }

  @Override
  public final void onRequestEnd(int index) {
    active.getAndDecrement(index);
  }

  @Override
  public final int activeRequests(int index) {
    return active.get(index);
  }
}
