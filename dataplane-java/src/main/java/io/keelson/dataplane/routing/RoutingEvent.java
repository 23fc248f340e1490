package io.keelson.dataplane.routing;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RequestHead;

/**
 * The one pre-allocated, mutable event of the L7 pipeline: a request head in, a routing decision out.
 *
 * <p>Threading: the publisher (an event loop) writes the inputs while it holds the claimed slot; then
 * each stage in turn owns the event; the last stage hands the decision to {@link #callback}, which
 * copies what it needs before returning, since the slot is reused right after.
 */
public final class RoutingEvent implements io.keelson.dataplane.pipeline.FailableEvent {
  // ---- inputs, written by the publisher
  public RequestHead head;
  public ServingSnapshot snapshot;
  public ServingListener listener;
  public RoutingCallback callback;
  /**
   * The downstream address (for hash_policy connection_properties.source_ip): the peer's IP, or an x-forwarded-for
   * entry the connection manager trusted (edge.DownstreamAddress); null when unknown.
   */
  public String remoteIp;
  /** {@link #remoteIp} came from x-forwarded-for, not the peer (RBAC remote_ip then differs from direct_remote_ip). */
  public boolean remoteIpFromXff;
  /** The verified client certificate's SPIFFE URI (mesh mTLS), or null; and the connection's addresses. */
  public String peerPrincipal;
  public java.net.InetSocketAddress remoteAddress;
  public java.net.InetSocketAddress localAddress;
  /** The socket's own peer (RBAC direct_remote_ip), whatever a PROXY protocol header restored into remoteAddress. */
  public java.net.InetSocketAddress peerAddress;
  /** A retry: the cluster already chosen (no route matching), or null for a first try. */
  public ServingCluster retryCluster;
  /**
   * The request is routed again after an external check cleared the route cache (ext_proc's clear_route_cache): route
   * and balance run on its changed headers, the filters do not run again (their verdict stands).
   */
  public boolean reroute;
  /** Hosts a retry should avoid, or null. */
  public io.keelson.dataplane.balance.HostPredicate hostPredicate;
  /** The publisher's {@link DecisionSlot} ticket for this publish (0 for publishers without one). */
  public long ticket;

  // ---- outputs, written by the stages
  /** Null when no virtual host matched the authority. */
  public VirtualHostConfig virtualHost;
  /** Null when no route matched. */
  public RouteEntry route;
  /** For a forwarding route: the chosen (weighted) cluster entry; else null. */
  public RouteAction.WeightedCluster weightedCluster;
  /** For a forwarding route: the cluster, or null when the route names one the snapshot lacks. */
  public ServingCluster cluster;
  /** The balancer that picked {@link #endpoint}; completion must be reported to it. */
  public LoadBalancer balancer;
  /** The HTTP filters' verdict (written by the policy stage); copy it out in the callback. */
  public final io.keelson.dataplane.filter.FilterContext policy = new io.keelson.dataplane.filter.FilterContext();
  /** Index of the chosen endpoint in {@link #balancer}, or -1 (none healthy or no cluster). */
  public int endpoint = -1;
  /** Why a stage failed on this event, or null: then the decision is only "answer with an error". */
  public Throwable failure;

  @Override
  public void stageFailed(Throwable cause) {
    if (failure == null) {
      failure = cause;
    }
  }

  void clearOutputs() {
    failure = null;
    virtualHost = null;
    route = null;
    weightedCluster = null;
    cluster = null;
    balancer = null;
    endpoint = -1;
  }

  /** Drops references to request objects so the slot does not keep them alive. */
  void clearInputs() {
    head = null;
    snapshot = null;
    listener = null;
    callback = null;
    remoteIp = null;
    remoteIpFromXff = false;
    peerPrincipal = null;
    remoteAddress = null;
    localAddress = null;
    peerAddress = null;
    retryCluster = null;
    hostPredicate = null;
    reroute = false;
    ticket = 0;
  }
}
