package io.keelson.dataplane.balance;

import io.keelson.dataplane.config.EndpointConfig;

/**
 * A balancer that changes how another one picks (skipping unhealthy endpoints, slow start) and
 * passes everything else through to it. Threading: that of the wrapped balancer.
 */
public abstract class WrappingBalancer implements LoadBalancer {
  /** The balancer for the cluster's lb_policy, which this one wraps. */
  protected final LoadBalancer policy;

  protected WrappingBalancer(LoadBalancer policy) {
    this.policy = policy;
  }

  @Override
  public EndpointConfig endpoint(int index) {
    return policy.endpoint(index);
  }

  @Override
  public int size() {
    return policy.size();
  }

  @Override
  public void onRequestStart(int index) {
    policy.onRequestStart(index);
  }

  @Override
  public void onRequestEnd(int index) {
    policy.onRequestEnd(index);
  }

  @Override
  public int activeRequests(int index) {
    return policy.activeRequests(index);
  }
}
