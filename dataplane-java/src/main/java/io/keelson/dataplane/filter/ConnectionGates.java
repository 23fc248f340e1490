package io.keelson.dataplane.filter;

import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import java.util.List;

/** A filter chain's {@link ConnectionGate}s in chain order; a connection is admitted when every one admits it. Thread-safe. */
public final class ConnectionGates {
  private final ConnectionGate[] gates;

  private ConnectionGates(ConnectionGate[] gates) {
    this.gates = gates;
  }

  /** The compiled gates of {@code configs}, or null when there are none. */
  public static ConnectionGates of(List<ConnectionGateConfig> configs, StatsRegistry stats) {
    if (configs.isEmpty()) {
      return null;
    }
    ConnectionGate[] gates = new ConnectionGate[configs.size()];
    for (int i = 0; i < gates.length; i++) {
      gates[i] = configs.get(i).compile(stats);
    }
    return new ConnectionGates(gates);
  }

  /** Whether every gate admits {@code connection}; the first that refuses it has closed it (or scheduled its close). */
  public boolean admit(Channel connection) {
    for (ConnectionGate g : gates) {
      if (!g.admit(connection)) {
        return false;
      }
    }
    return true;
  }
}
