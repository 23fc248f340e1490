package io.keelson.dataplane.pipeline;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.ExceptionHandler;
import com.lmax.disruptor.EventTranslatorOneArg;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.EventHandlerGroup;
import com.lmax.disruptor.dsl.ProducerType;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stages chained on an LMAX Disruptor ring, each on its own thread (its single writer). Producers
 * (event loops) publish from any thread; a full ring is reported to the producer, never waited on.
 * The wait strategy blocks by default rather than spins: this machine class has few cores and the
 * event loops need them; a caller with dedicated cores (the packet gateway) may choose to spin.
 */
final class RingPipeline<E> implements Pipeline<E> {
  private static final Logger LOG = LoggerFactory.getLogger(RingPipeline.class);
  /** close() waits this long for the stages to finish what was published, then stops them anyway. */
  static final long CLOSE_WAIT_SECONDS = 5;
  private final Disruptor<Holder<E>> disruptor;
  private final RingBuffer<Holder<E>> ring;
  private final Sequenced last;

  /** Ring slots hold the caller's event type; the holder lets the translator stay allocation-free. */
  static final class Holder<E> {
    final E event;

    Holder(E event) {
      this.event = event;
    }
  }

  /** Disruptor's translator over the caller's filler; one per publish would allocate, so it is a constant. */
  @SuppressWarnings({"rawtypes", "unchecked"})
  private static final EventTranslatorOneArg<Holder, Object[]> TRANSLATOR =
      (holder, sequence, fillerAndArg) ->
          ((EventFiller) fillerAndArg[0]).fill(holder.event, fillerAndArg[1]);

  /** Per-thread scratch pair so publishing allocates nothing. */
  private static final ThreadLocal<Object[]> SCRATCH = ThreadLocal.withInitial(() -> new Object[2]);

  RingPipeline(String name, List<Stage<E>> stages, Supplier<E> eventFactory, int ringSize, RingWait wait) {
    if (stages.isEmpty()) {
      throw new IllegalArgumentException("pipeline '" + name + "' has no stages");
    }
    AtomicInteger threadIndex = new AtomicInteger();
    ThreadFactory threads =
        r -> {
          Thread t = new Thread(r, "keelson-" + name + "-stage-" + threadIndex.getAndIncrement());
          t.setDaemon(true);
          return t;
        };
    disruptor =
        new Disruptor<>(
            () -> new Holder<>(eventFactory.get()),
            ringSize,
            threads,
            ProducerType.MULTI,
            waitStrategy(wait));
    // Disruptor's default handler rethrows, which ends the stage's thread: every later event then waits
    // behind it forever (and so does shutdown). One failed event must cost that event only.
    disruptor.setDefaultExceptionHandler(new StageFailures(name));
    Sequenced lastHandler = null;
    EventHandlerGroup<Holder<E>> group = null;
    for (Stage<E> stage : stages) {
      Sequenced handler = new Sequenced(stage);
      group = group == null ? disruptor.handleEventsWith(handler) : group.then(handler);
      lastHandler = handler;
    }
    last = lastHandler;
    ring = disruptor.start();
  }

  private static WaitStrategy waitStrategy(RingWait wait) {
    return switch (wait) {
      case BLOCKING -> new BlockingWaitStrategy();
      case YIELDING -> new YieldingWaitStrategy();
      case BUSY_SPIN -> new BusySpinWaitStrategy();
    };
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public <A> boolean tryPublish(EventFiller<E, A> filler, A arg) {
    Object[] scratch = SCRATCH.get();
    scratch[0] = filler;
    scratch[1] = arg;
    try {
      return ring.tryPublishEvent((EventTranslatorOneArg) TRANSLATOR, scratch);
    } finally {
      scratch[0] = null;
      scratch[1] = null;
    }
  }

  @Override
  public PipelineMode mode() {
    return PipelineMode.DISRUPTOR;
  }

  @Override
  public long depth() {
    return ring.getCursor() - last.processed;
  }

  /**
   * Lets the stages finish what was published, for at most {@value #CLOSE_WAIT_SECONDS} s, then stops
   * them. (Disruptor's {@code shutdown()} without a timeout spins, uninterruptibly, until the backlog is
   * gone: forever when a stage is stuck.)
   */
  @Override
  public void close() {
    try {
      disruptor.shutdown(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (com.lmax.disruptor.TimeoutException e) {
      LOG.warn("ring pipeline: stages still busy after {} s; stopping them anyway", CLOSE_WAIT_SECONDS);
      disruptor.halt();
    }
  }

  /**
   * Logs a stage's exception and lets the stage go on; a {@link FailableEvent} is marked failed, so the
   * stages after it skip it and the last one answers for it.
   */
  private static final class StageFailures implements ExceptionHandler<Holder<?>> {
    private final String name;
    private final StageFailureLog log;

    StageFailures(String name) {
      this.name = name;
      this.log = new StageFailureLog(name);
    }

    @Override
    public void handleEventException(Throwable ex, long sequence, Holder<?> holder) {
      log.failed(ex, sequence);
      if (holder != null && holder.event instanceof FailableEvent failable) {
        failable.stageFailed(ex);
      }
    }

    @Override
    public void handleOnStartException(Throwable ex) {
      LOG.error("ring pipeline '{}': a stage failed to start", name, ex);
    }

    @Override
    public void handleOnShutdownException(Throwable ex) {
      LOG.error("ring pipeline '{}': a stage failed to stop", name, ex);
    }
  }

  /** Adapts a stage to Disruptor's handler contract and records how far it has got. */
  private final class Sequenced implements EventHandler<Holder<E>> {
    private final Stage<E> stage;
    volatile long processed = -1;

    Sequenced(Stage<E> stage) {
      this.stage = stage;
    }

    @Override
    public void onEvent(Holder<E> holder, long sequence, boolean endOfBatch) {
      stage.onEvent(holder.event);
      if (endOfBatch) {
        stage.onEndOfBatch();
      }
      processed = sequence;
    }
  }
}
