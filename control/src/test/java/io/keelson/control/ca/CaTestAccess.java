package io.keelson.control.ca;

import java.time.Clock;

/** Test access to package-private CA hooks from other packages' tests. */
public final class CaTestAccess {
  private CaTestAccess() {}

  /** The same CA signing with {@code clock} (e.g. in the past, for expired certificates). */
  public static MeshCa withClock(MeshCa ca, Clock clock) {
    return ca.withClock(clock);
  }
}
