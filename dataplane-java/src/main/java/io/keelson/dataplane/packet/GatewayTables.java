package io.keelson.dataplane.packet;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The one mutable cell holding the gateway's current {@link GatewayConfig}. The control thread
 * {@link #update}s it; {@link ParseStage} reads it once per burst, so every stage decides a whole
 * burst on the same config, and a change takes effect at the next burst boundary. Tracked flows
 * keep their backend across changes (connection tracking, not the Maglev table, decides them).
 *
 * <p>Before a config is published, every {@link #onUpdate} preparer runs on the updating thread, so what a stage
 * would otherwise allocate in the burst that first sees it (the IPv6 flow table) is built off the forwarding thread.
 *
 * <p>Threading: any thread may read (a volatile reference); updates come from one thread at a time (the control
 * thread).
 */
public final class GatewayTables {
  private volatile GatewayConfig current;
  private final List<Consumer<GatewayConfig>> preparers = new CopyOnWriteArrayList<>();

  public GatewayTables(GatewayConfig initial) {
    this.current = Objects.requireNonNull(initial);
  }

  public GatewayConfig current() {
    return current;
  }

  public void update(GatewayConfig next) {
    Objects.requireNonNull(next);
    for (Consumer<GatewayConfig> p : preparers) {
      p.accept(next);
    }
    this.current = next;
  }

  /** Runs {@code preparer} on the current config now and on every config {@link #update} is about to publish. */
  void onUpdate(Consumer<GatewayConfig> preparer) {
    preparers.add(preparer);
    preparer.accept(current);
  }
}
