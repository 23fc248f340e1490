package io.keelson.dataplane.pipeline;

import java.util.List;
import java.util.function.Supplier;

/**
 * Wires the same stage objects either inline or onto a Disruptor ring. Stage instances carry
 * single-writer state (counters, balancer state), so each pipeline gets its own from the suppliers:
 * inline there is one pipeline per event loop, on the ring one pipeline for the process.
 */
public final class PipelineFactory {
  /** Default ring size: a power of two, bounded. */
  public static final int DEFAULT_RING_SIZE = 4096;

  private PipelineFactory() {}

  public static <E> Pipeline<E> create(
      PipelineMode mode,
      String name,
      List<Supplier<? extends Stage<E>>> stages,
      Supplier<E> eventFactory,
      int ringSize) {
    return create(mode, name, stages, eventFactory, ringSize, RingWait.BLOCKING);
  }

  /** As above, with the ring's wait strategy chosen (ignored inline). */
  public static <E> Pipeline<E> create(
      PipelineMode mode,
      String name,
      List<Supplier<? extends Stage<E>>> stages,
      Supplier<E> eventFactory,
      int ringSize,
      RingWait wait) {
    List<Stage<E>> instances = stages.stream().<Stage<E>>map(Supplier::get).toList();
    return switch (mode) {
      case INLINE -> new InlinePipeline<>(name, instances, eventFactory);
      case DISRUPTOR -> {
        if (Integer.bitCount(ringSize) != 1) {
          throw new IllegalArgumentException("ring size " + ringSize + " is not a power of two");
        }
        yield new RingPipeline<>(name, instances, eventFactory, ringSize, wait);
      }
    };
  }
}
