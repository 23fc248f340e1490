package io.keelson.bench.e2e;

/** A peer could not be started or configured; the message says why and where to look. */
final class PeerStartException extends Exception {
  PeerStartException(String message) {
    super(message);
  }

  /**
   * True when another process took the free port between our probe and the peer's bind (nginx,
   * HAProxy and the JVM all say "Address already in use"): worth one more try on a new port.
   */
  boolean portTaken() {
    return getMessage() != null && getMessage().contains("Address already in use");
  }
}
