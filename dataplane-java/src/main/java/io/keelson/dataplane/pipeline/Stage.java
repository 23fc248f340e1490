package io.keelson.dataplane.pipeline;

/**
 * One step of routing work over a pre-allocated event.
 *
 * <p>Threading: a stage instance is called by one thread at a time (its single writer): on the ring,
 * the stage's own thread; inline, the event loop that owns the pipeline. It must not block and must
 * not keep a reference to the event after returning.
 */
@FunctionalInterface
public interface Stage<E> {
  void onEvent(E event);

  /** Called after the last event of a batch (ring) or after every event (inline): flush here. */
  default void onEndOfBatch() {}
}
