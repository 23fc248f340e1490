package io.keelson.bench.e2e;

/** A peer could not be started or configured; the message says why and where to look. */
final class PeerStartException extends Exception {
  PeerStartException(String message) {
    super(message);
  }
}
