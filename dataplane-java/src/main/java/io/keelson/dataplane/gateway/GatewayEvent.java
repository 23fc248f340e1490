package io.keelson.dataplane.gateway;

import io.keelson.dataplane.packet.PacketBurst;

/**
 * The gateway pipeline's event: the packet pipeline's {@link PacketBurst}, plus whether the burst came
 * from the kernel through the exception port (then the packet stages skip it and it goes out the wire
 * unchanged).
 *
 * <p>Threading: handed from the poller to the stages in order; one thread at a time.
 */
final class GatewayEvent {
  final PacketBurst burst;
  /** Packets from the exception port, bound for the wire port {@link #wirePort}. */
  boolean fromKernel;
  int wirePort;

  GatewayEvent(int maxBurst) {
    this.burst = new PacketBurst(maxBurst);
  }
}
