package io.keelson.dataplane.server;

/**
 * Envoy's server states ({@code server.state}: 0 live, 1 draining, 2 pre-initializing, 3 initializing), as the admin
 * {@code /ready} answers them. Immutable.
 */
public enum ServerLifecycle {
  LIVE(0),
  DRAINING(1),
  PRE_INITIALIZING(2),
  INITIALIZING(3);

  private final int code;

  ServerLifecycle(int code) {
    this.code = code;
  }

  /** The value of Envoy's {@code server.state} gauge. */
  public int code() {
    return code;
  }
}
