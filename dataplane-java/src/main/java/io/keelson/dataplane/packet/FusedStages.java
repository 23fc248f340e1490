package io.keelson.dataplane.packet;

import io.keelson.dataplane.pipeline.Stage;
import java.util.function.LongSupplier;

/**
 * Parse, classify and forward as one stage: the three are called directly (monomorphic, inlinable)
 * instead of through a list of {@link Stage}s, and on a ring they need one thread between them, not
 * three. {@link FastPath} runs first (unless {@code -Dkeelson.gateway.fastPath=false}). What a gateway on few cores wants; {@link GatewayStages#stages()} keeps them separate for
 * wirings that want a thread per stage.
 *
 * <p>Threading: that of its stages: one thread at a time (see {@link Stage}).
 */
public final class FusedStages implements Stage<PacketBurst> {
  private final ParseStage parse;
  private final ClassifyStage classify;
  private final ForwardStage forward;
  private final LongSupplier clock;
  /** Null when the fast path is off. */
  private final FastPath fast;

  FusedStages(ParseStage parse, ClassifyStage classify, ForwardStage forward, LongSupplier clock, boolean fastPath) {
    this.parse = parse;
    this.classify = classify;
    this.forward = forward;
    this.clock = clock;
    this.fast = fastPath ? new FastPath(forward) : null;
  }

  @Override
  public void onEvent(PacketBurst burst) {
    GatewayConfig config = parse.tables().current();
    long now = clock.getAsLong();
    if (fast != null) {
      fast.onEvent(burst, config, now);
    }
    parse.onEvent(burst, config);
    classify.onEvent(burst);
    forward.onEvent(burst, now);
  }
}
