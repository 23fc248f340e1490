package io.keelson.dataplane.packet;

import java.util.Objects;

/**
 * The one mutable cell holding the gateway's current {@link GatewayConfig}. The control thread
 * {@link #update}s it; {@link ParseStage} reads it once per burst, so every stage decides a whole
 * burst on the same config, and a change takes effect at the next burst boundary. Tracked flows
 * keep their backend across changes (connection tracking, not the Maglev table, decides them).
 *
 * <p>Threading: any thread may update or read (a volatile reference).
 */
public final class GatewayTables {
  private volatile GatewayConfig current;

  public GatewayTables(GatewayConfig initial) {
    this.current = Objects.requireNonNull(initial);
  }

  public GatewayConfig current() {
    return current;
  }

  public void update(GatewayConfig next) {
    this.current = Objects.requireNonNull(next);
  }
}
