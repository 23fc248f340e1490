package io.keelson.dataplane.pipeline;

import java.util.List;
import java.util.function.Supplier;

/**
 * Runs every stage on the calling thread before {@link #tryPublish} returns. Owned by one thread
 * (an event loop). Re-entrant publishes (a stage's hand-back that publishes again) get their own
 * event from a small fixed stack, so nothing is allocated in steady state.
 */
final class InlinePipeline<E> implements Pipeline<E> {
  private static final int MAX_DEPTH = 8;

  private final Stage<E>[] stages;
  private final Object[] events = new Object[MAX_DEPTH];
  private final Supplier<E> eventFactory;
  private final StageFailureLog failures;
  private int depth;

  @SuppressWarnings("unchecked")
  InlinePipeline(String name, List<Stage<E>> stages, Supplier<E> eventFactory) {
    this.stages = stages.toArray(new Stage[0]);
    this.eventFactory = eventFactory;
    this.failures = new StageFailureLog(name);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <A> boolean tryPublish(EventFiller<E, A> filler, A arg) {
    if (depth == MAX_DEPTH) {
      return false;
    }
    Object slot = events[depth];
    if (slot == null) {
      slot = eventFactory.get();
      events[depth] = slot;
    }
    E event = (E) slot;
    depth++;
    try {
      filler.fill(event, arg);
      for (Stage<E> stage : stages) {
        run(stage, event);
      }
    } finally {
      depth--;
    }
    return true;
  }

  /** One stage; a failable event records a failure and goes on to the next stage, as on the ring. */
  private void run(Stage<E> stage, E event) {
    try {
      stage.onEvent(event);
      stage.onEndOfBatch();
    } catch (RuntimeException e) {
      if (!(event instanceof FailableEvent failable)) {
        throw e;
      }
      failures.failed(e, -1);
      failable.stageFailed(e);
    }
  }

  @Override
  public PipelineMode mode() {
    return PipelineMode.INLINE;
  }

  @Override
  public long depth() {
    return 0;
  }

  @Override
  public void close() {}
}
