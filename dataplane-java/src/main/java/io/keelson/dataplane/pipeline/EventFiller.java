package io.keelson.dataplane.pipeline;

/** Copies a request (or packet burst) into a claimed, pre-allocated event. Must not block. */
@FunctionalInterface
public interface EventFiller<E, A> {
  void fill(E event, A arg);
}
