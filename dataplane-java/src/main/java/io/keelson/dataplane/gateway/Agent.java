package io.keelson.dataplane.gateway;

/**
 * A long-lived unit of polling work (Aeron's agent): {@link #doWork()} does a bounded amount of work
 * and says how much, so an {@link IdleStrategy} can back off when there was none.
 *
 * <p>Threading: every method is called by the agent's one thread.
 */
interface Agent {
  /** Called once on the agent's thread before the first {@link #doWork()}. */
  default void onStart() {}

  /** @return work done (packets moved); 0 lets the idle strategy back off */
  int doWork();

  /** Called once on the agent's thread after the last {@link #doWork()}. */
  default void onClose() {}

  String roleName();
}
