package io.keelson.dataplane.balance;

/**
 * Rejects hosts for one pick (Envoy's retry host predicates): the balance stage picks again, up to
 * {@link #hostSelectionAttempts()} times, while the predicate rejects the host. Called on the balance
 * stage's thread while the request waits for its decision.
 */
public interface HostPredicate {
  boolean rejects(int endpoint);

  int hostSelectionAttempts();
}
