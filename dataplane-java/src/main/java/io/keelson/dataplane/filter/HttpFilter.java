package io.keelson.dataplane.filter;

/**
 * One compiled HTTP filter: decides on a request head before the router forwards it. Instances are
 * immutable apart from thread-safe shared state (counters, token buckets), and are called
 * concurrently: from the policy stage's ring thread, or from every event loop inline.
 */
@FunctionalInterface
public interface HttpFilter {
  /**
   * Decides on the request in {@code context}: return without writing to continue, or call one of
   * {@link FilterContext#localReply} (stops the chain) or {@link FilterContext#delay} (the chain goes
   * on; the connection acts on the verdict after the delay). Must not block or allocate per request.
   */
  void onRequest(FilterContext context);
}
