package io.keelson.dataplane.packet;

import io.keelson.dataplane.pipeline.Stage;

/**
 * Parse, classify and forward as one stage: the three are called directly (monomorphic, inlinable)
 * instead of through a list of {@link Stage}s, and on a ring they need one thread between them, not
 * three. What a gateway on few cores wants; {@link GatewayStages#stages()} keeps them separate for
 * wirings that want a thread per stage.
 *
 * <p>Threading: that of its stages: one thread at a time (see {@link Stage}).
 */
public final class FusedStages implements Stage<PacketBurst> {
  private final ParseStage parse;
  private final ClassifyStage classify;
  private final ForwardStage forward;

  FusedStages(ParseStage parse, ClassifyStage classify, ForwardStage forward) {
    this.parse = parse;
    this.classify = classify;
    this.forward = forward;
  }

  @Override
  public void onEvent(PacketBurst burst) {
    parse.onEvent(burst);
    classify.onEvent(burst);
    forward.onEvent(burst);
  }
}
