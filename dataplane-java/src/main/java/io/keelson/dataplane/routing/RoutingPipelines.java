package io.keelson.dataplane.routing;

import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineFactory;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.List;
import java.util.function.Supplier;

/**
 * Gives each event loop the routing pipeline it publishes to: inline, its own (balancer state per event
 * loop); on the ring, the one shared ring (balancer state single-writer on the balance thread).
 * Thread-safe.
 */
public final class RoutingPipelines implements AutoCloseable {
  private static final List<Supplier<? extends Stage<RoutingEvent>>> STAGES =
      List.of(RouteStage::new, PolicyStage::new, BalanceStage::new);

  private final PipelineMode mode;
  private final Pipeline<RoutingEvent> shared;
  private final FastThreadLocal<Pipeline<RoutingEvent>> perLoop;

  public RoutingPipelines(PipelineMode mode, int ringSize) {
    this(mode, ringSize, STAGES);
  }

  /** With other stages (tests: a stage that fails). */
  RoutingPipelines(PipelineMode mode, int ringSize, List<Supplier<? extends Stage<RoutingEvent>>> stages) {
    this.mode = mode;
    if (mode == PipelineMode.DISRUPTOR) {
      shared = PipelineFactory.create(mode, "routing", stages, RoutingEvent::new, ringSize);
      perLoop = null;
    } else {
      shared = null;
      perLoop =
          new FastThreadLocal<>() {
            @Override
            protected Pipeline<RoutingEvent> initialValue() {
              return PipelineFactory.create(PipelineMode.INLINE, "routing", stages, RoutingEvent::new, 0);
            }
          };
    }
  }

  public PipelineMode mode() {
    return mode;
  }

  /** The pipeline for the calling event loop. */
  public Pipeline<RoutingEvent> current() {
    return shared != null ? shared : perLoop.get();
  }

  /** Ring depth (0 inline), for the admin's stats. */
  public long depth() {
    return shared != null ? shared.depth() : 0;
  }

  @Override
  public void close() {
    if (shared != null) {
      shared.close();
    }
  }
}
