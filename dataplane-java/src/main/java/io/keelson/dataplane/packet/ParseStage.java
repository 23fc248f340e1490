package io.keelson.dataplane.packet;

import io.keelson.dataplane.pipeline.Stage;
import java.util.function.LongSupplier;

/**
 * First gateway stage: takes the current {@link GatewayConfig} and one clock reading for the burst, then
 * validates every packet's headers ({@link PacketParser}); malformed ones get a {@link PacketBurst#DROP} verdict and
 * are counted under their reason.
 *
 * <p>Threading: single writer of its counters; one thread at a time (see {@link Stage}).
 */
public final class ParseStage implements Stage<PacketBurst> {
  private final GatewayTables tables;
  private final LongSupplier clock;
  private final DropCounters drops = new DropCounters();

  /** @param nanoClock read once per burst: the {@link PacketBurst#now} every later stage uses */
  public ParseStage(GatewayTables tables, LongSupplier nanoClock) {
    this.tables = tables;
    this.clock = nanoClock;
  }

  @Override
  public void onEvent(PacketBurst burst) {
    GatewayConfig config = tables.current();
    burst.config = config;
    burst.now = clock.getAsLong();
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
