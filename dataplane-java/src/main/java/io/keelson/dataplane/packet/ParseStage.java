package io.keelson.dataplane.packet;

import io.keelson.dataplane.pipeline.Stage;

/**
 * First gateway stage: takes the current {@link GatewayConfig} for the burst, then validates every
 * packet's headers ({@link PacketParser}); malformed ones get a {@link PacketBurst#DROP} verdict and
 * are counted under their reason.
 *
 * <p>Threading: single writer of its counters; one thread at a time (see {@link Stage}).
 */
public final class ParseStage implements Stage<PacketBurst> {
  private final GatewayTables tables;
  private final DropCounters drops = new DropCounters();

  public ParseStage(GatewayTables tables) {
    this.tables = tables;
  }

  @Override
  public void onEvent(PacketBurst burst) {
    GatewayConfig config = tables.current();
    burst.config = config;
    long rxMac = config.mac(burst.rxPort());
    for (int i = 0, n = burst.count(); i < n; i++) {
      DropReason reason = PacketParser.parse(burst, i, rxMac);
      if (reason != null) {
        burst.drop(i, reason, drops);
      }
    }
  }

  public DropCounters drops() {
    return drops;
  }
}
