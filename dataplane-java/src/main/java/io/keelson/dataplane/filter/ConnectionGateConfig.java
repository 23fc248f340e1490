package io.keelson.dataplane.filter;

import io.keelson.dataplane.stats.StatsRegistry;

/** The translated, immutable config of a {@link ConnectionGate}; compiled once per listener config. */
public interface ConnectionGateConfig {
  /** The gate with its own state (a bucket, a connection count) and counters registered in {@code stats}. */
  ConnectionGate compile(StatsRegistry stats);

  /** Envoy's filter name, for error messages. */
  String filterName();
}
