package io.keelson.dataplane.health;

import io.keelson.dataplane.config.EndpointConfig;
import java.util.function.Consumer;

/**
 * One kind of check against one endpoint. {@link #probe} is called on the health event loop and must
 * not block it; {@code done} is called exactly once, on that loop, with the outcome.
 */
interface Probe extends AutoCloseable {
  void probe(EndpointConfig endpoint, Consumer<Boolean> done);

  /** Releases what the probe keeps between checks (gRPC channels). */
  @Override
  default void close() {}
}
