package io.keelson.dataplane.routing;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.filter.ExchangeEndHook;
import io.keelson.dataplane.filter.FilterContext;

/**
 * One connection's hand-off of routing decisions from the pipeline back to its event loop, ticketed.
 *
 * <p>On a ring, a decision can arrive after its request ended: a route timeout fired while the ring
 * still held the event, and the connection went on to its next request. Without a ticket that late
 * decision would be applied to the next request (a wrong route, cluster or 404), and it would be
 * written into the connection's fields while the event loop reads them. Here every publish takes a
 * ticket ({@link #issue}); the pipeline's last stage copies its decision into the slot
 * ({@link #offer}), and the event loop applies it only if it answers the latest ticket ({@link
 * #take}). A late decision is dropped, and its filters' end-of-exchange hook still runs, so nothing
 * it holds (such as a fault filter's active-fault slot) leaks.
 *
 * <p>Threading: {@link #issue}, {@link #take}, {@link #discard} and the decision's fields after a
 * successful take belong to the connection's event loop. {@link #offer} runs on the pipeline's last
 * stage: the balance thread on a ring (one ring, so one slot's decisions arrive in publish order), the
 * event loop itself inline. The volatile {@link #offered} ticket, written last, publishes the fields.
 */
public final class DecisionSlot {
  /** The latest ticket the event loop handed out; volatile so the ring can drop a decision already stale. */
  private volatile long issued;
  /** The ticket of the decision now in the slot; written after its fields. */
  private volatile long offered;
  /** The last ticket the event loop took (event loop only). */
  private long taken;

  // ---- the decision, valid on the event loop after take() returned true
  public VirtualHostConfig virtualHost;
  public RouteEntry route;
  public RouteAction.WeightedCluster weightedCluster;
  public ServingCluster cluster;
  public LoadBalancer balancer;
  public int endpoint = -1;
  /** A stage failed on the request: answer it with an error, use nothing else here. */
  public boolean failed;
  /** The HTTP filters' verdict; take it with {@link FilterContext#copyVerdict}. */
  public final FilterContext policy = new FilterContext();

  /** Event loop, while filling the routing event: the ticket for this publish. */
  public long issue() {
    long ticket = issued + 1;
    issued = ticket;
    return ticket;
  }

  /**
   * The pipeline's last stage: copies {@code event}'s decision in. A decision whose ticket is no longer
   * the latest is not copied; its end hook runs here instead. A decision offered earlier and never taken
   * (it went stale after this check) has its end hook run when the next one replaces it.
   */
  public void offer(RoutingEvent event) {
    if (event.ticket != issued) {
      runHook(event.policy.takeEndHook());
      return;
    }
    runHook(policy.takeEndHook());
    virtualHost = event.virtualHost;
    route = event.route;
    weightedCluster = event.weightedCluster;
    cluster = event.cluster;
    balancer = event.balancer;
    endpoint = event.endpoint;
    failed = event.failure != null;
    policy.copyVerdict(event.policy);
    offered = event.ticket;
  }

  /**
   * Event loop: true, once, when the slot holds the decision for the latest ticket; the fields are then
   * the event loop's until the next {@link #issue}. False for a late decision or one already taken.
   */
  public boolean take() {
    long ticket = offered;
    if (ticket != issued || ticket == taken) {
      return false;
    }
    taken = ticket;
    return true;
  }

  /** Event loop, after a successful {@link #take} the request no longer wants: runs its end hook. */
  public void discard() {
    runHook(policy.takeEndHook());
  }

  private static void runHook(ExchangeEndHook hook) {
    if (hook != null) {
      hook.onExchangeEnd();
    }
  }
}
