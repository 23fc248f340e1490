package io.keelson.dataplane.filter;

import io.netty.channel.Channel;

/**
 * A network filter that decides on a new downstream connection before anything is read from it or any upstream is
 * picked (Envoy's {@code onNewConnection}): {@code envoy.filters.network.local_ratelimit},
 * {@code envoy.filters.network.connection_limit}. Thread-safe (called from every event loop).
 */
public interface ConnectionGate {
  /**
   * Admits {@code connection} (called on its event loop, once), or closes it — now or after a delay — and returns false:
   * the connection must then not be read from or proxied. Must not block.
   */
  boolean admit(Channel connection);
}
