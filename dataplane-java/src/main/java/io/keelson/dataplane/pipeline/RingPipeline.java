package io.keelson.dataplane.pipeline;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.EventTranslatorOneArg;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.EventHandlerGroup;
import com.lmax.disruptor.dsl.ProducerType;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Stages chained on an LMAX Disruptor ring, each on its own thread (its single writer). Producers
 * (event loops) publish from any thread; a full ring is reported to the producer, never waited on.
 * The wait strategy blocks by default rather than spins: this machine class has few cores and the
 * event loops need them; a caller with dedicated cores (the packet gateway) may choose to spin.
 */
final class RingPipeline<E> implements Pipeline<E> {
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

  @Override
  public void close() {
    disruptor.shutdown();
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
