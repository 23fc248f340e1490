package io.keelson.dataplane.pipeline;

/**
 * Runs its stages, in order, over events that producers fill. The last stage hands the result back
 * to whoever needs it (for L7, the connection's own event loop).
 *
 * <p>Threading: {@link #tryPublish} may be called from any thread for a ring pipeline; an inline
 * pipeline belongs to one thread and runs the stages on it before {@code tryPublish} returns.
 */
public interface Pipeline<E> extends AutoCloseable {

  /**
   * Claims an event, fills it and runs the stages over it.
   *
   * @return false when the ring is full (it is bounded): the caller answers "overloaded" itself
   */
  <A> boolean tryPublish(EventFiller<E, A> filler, A arg);

  /** The wiring this pipeline runs. */
  PipelineMode mode();

  /** Events published and not yet through the last stage (always 0 inline). */
  long depth();

  /** Stops the stage threads after the events already published have run. */
  @Override
  void close();
}
