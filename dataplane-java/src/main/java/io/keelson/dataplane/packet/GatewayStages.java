package io.keelson.dataplane.packet;

import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineFactory;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Wires the gateway's stages for {@link PipelineFactory}: {@link ParseStage} → {@link
 * ClassifyStage} → {@link ForwardStage}, then the I/O loop's own TX stage if it gives one. Every
 * stage instance a supplier creates registers its drop counters here, so {@link #dropCounts()}
 * sums all pipelines built from this object (one per poller inline, one on the ring).
 *
 * <p>Threading: build on one thread; {@link #dropCounts()} and {@link #dropCount} from any thread.
 */
public final class GatewayStages {
  private final GatewayTables tables;
  private final LongSupplier clock;
  private final List<DropCounters> counters = new CopyOnWriteArrayList<>();
  private final List<ForwardStage> forwarders = new CopyOnWriteArrayList<>();

  /** @param nanoClock monotonic nanoseconds ({@code System::nanoTime} in production; tests drive it) */
  public GatewayStages(GatewayTables tables, LongSupplier nanoClock) {
    this.tables = Objects.requireNonNull(tables);
    this.clock = Objects.requireNonNull(nanoClock);
  }

  /** Parse, classify, forward: the suppliers to hand to {@link PipelineFactory#create}. */
  public List<Supplier<? extends Stage<PacketBurst>>> stages() {
    return stages(null);
  }

  /** As {@link #stages()}, with {@code txStage} (may be null) appended: it sees every verdict. */
  public List<Supplier<? extends Stage<PacketBurst>>> stages(Supplier<? extends Stage<PacketBurst>> txStage) {
    return stagesForQueue(0, 1, txStage);
  }

  /**
   * The stages for RX queue {@code queue} of {@code queues} (a power of two), each queue with its
   * own pipeline and connection table: the queue's SNAT ports are those with {@code port % queues
   * == queue} (see {@link ForwardStage#ForwardStage(GatewayLimits, int, int)}), so
   * return traffic must be steered to queue {@code dstPort & (queues - 1)}.
   */
  public List<Supplier<? extends Stage<PacketBurst>>> stagesForQueue(int queue, int queues,
      Supplier<? extends Stage<PacketBurst>> txStage) {
    ForwardStage.checkShard(queue, queues); // fail at wiring time, not when a pipeline first builds its stages
    List<Supplier<? extends Stage<PacketBurst>>> list = new ArrayList<>(4);
    list.add(() -> register(new ParseStage(tables, clock)));
    list.add(() -> register(new ClassifyStage()));
    list.add(() -> register(new ForwardStage(tables.current().limits(), queue, queues)));
    if (txStage != null) {
      list.add(txStage);
    }
    return List.copyOf(list);
  }

  /**
   * Parse, classify and forward for RX queue {@code queue} of {@code queues} as one stage (see {@link
   * FusedStages}); its counters are registered here like those of {@link #stagesForQueue}.
   */
  public FusedStages fusedForQueue(int queue, int queues) {
    ForwardStage.checkShard(queue, queues);
    return new FusedStages(register(new ParseStage(tables, clock)), register(new ClassifyStage()),
        register(new ForwardStage(tables.current().limits(), queue, queues)));
  }

  /** Pre-allocated events of {@code maxBurst} packets each. */
  public static Supplier<PacketBurst> events(int maxBurst) {
    return () -> new PacketBurst(maxBurst);
  }

  /** A pipeline of this gateway's stages plus {@code txStage} (may be null). */
  public Pipeline<PacketBurst> pipeline(PipelineMode mode, String name, int maxBurst, int ringSize,
      Supplier<? extends Stage<PacketBurst>> txStage) {
    return PipelineFactory.create(mode, name, stages(txStage), events(maxBurst), ringSize);
  }

  /** Drops so far per reason, indexed by {@link DropReason#ordinal()}, summed over every stage. */
  public long[] dropCounts() {
    long[] totals = new long[DropReason.count()];
    for (DropCounters c : counters) {
      c.snapshotInto(totals);
    }
    return totals;
  }

  public long dropCount(DropReason reason) {
    long total = 0;
    for (DropCounters c : counters) {
      total += c.get(reason);
    }
    return total;
  }

  /** Flows tracked, summed over the forwarding stages (approximate while traffic flows). */
  public long trackedFlows() {
    long total = 0;
    for (ForwardStage f : forwarders) {
      total += f.trackedFlows();
    }
    return total;
  }

  private ParseStage register(ParseStage stage) {
    counters.add(stage.drops());
    return stage;
  }

  private ClassifyStage register(ClassifyStage stage) {
    counters.add(stage.drops());
    return stage;
  }

  private ForwardStage register(ForwardStage stage) {
    counters.add(stage.drops());
    forwarders.add(stage);
    tables.onUpdate(stage::prepare); // tables it would build in a burst, built as a config is published
    return stage;
  }
}
