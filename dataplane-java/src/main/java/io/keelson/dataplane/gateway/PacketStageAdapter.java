package io.keelson.dataplane.gateway;

import io.keelson.dataplane.packet.PacketBurst;
import io.keelson.dataplane.pipeline.Stage;

/**
 * Runs a packet-pipeline stage over the event's burst, skipping bursts the kernel sent back through the
 * exception port (those are not parsed or rewritten).
 *
 * <p>Threading: that of the wrapped stage.
 */
final class PacketStageAdapter implements Stage<GatewayEvent> {
  private final Stage<PacketBurst> stage;

  PacketStageAdapter(Stage<PacketBurst> stage) {
    this.stage = stage;
  }

  @Override
  public void onEvent(GatewayEvent event) {
    if (!event.fromKernel) {
      stage.onEvent(event.burst);
    }
  }

  @Override
  public void onEndOfBatch() {
    stage.onEndOfBatch();
  }
}
