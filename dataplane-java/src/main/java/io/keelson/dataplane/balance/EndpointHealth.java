package io.keelson.dataplane.balance;

/**
 * Whether one endpoint may take new requests: a small set of independent reasons to skip it, each set
 * and cleared by its own owner (outlier detection sets {@link #EJECTED}; active health checking sets
 * {@link #FAILED_ACTIVE_HEALTH_CHECK}). Balancers read {@link #available()} on every pick of a cluster
 * that tracks health. One object per endpoint of a cluster, kept across config snapshots so that
 * ejections survive unrelated updates. Thread-safe: flags are updated atomically, read with one
 * volatile load; the ejection bookkeeping is written only under the outlier detector's lock.
 */
public final class EndpointHealth {
  /** Ejected by outlier detection. */
  public static final int EJECTED = 1;
  /** Failed active health checks (set by the health checker). */
  public static final int FAILED_ACTIVE_HEALTH_CHECK = 1 << 1;

  private static final java.lang.invoke.VarHandle FLAGS;

  static {
    try {
      FLAGS = java.lang.invoke.MethodHandles.lookup().findVarHandle(EndpointHealth.class, "flags", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private volatile int flags;
  /** Outlier detection: when the current ejection ends (System.nanoTime scale of the detector's clock). */
  public long ejectedUntilNanos;
  /** Outlier detection: how many times ejected recently (the ejection time grows with it). */
  public int timesEjected;

  /** True when no reason to skip the endpoint is set. */
  public boolean available() {
    return flags == 0;
  }

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }

  /** Sets or clears one flag; returns true when the flag changed. */
  public boolean set(int flag, boolean on) {
    while (true) {
      int f = flags;
      int next = on ? f | flag : f & ~flag;
      if (next == f) {
        return false;
      }
      if (FLAGS.compareAndSet(this, f, next)) {
        return true;
      }
    }
  }

  @Override
  public String toString() {
    return available() ? "healthy" : (has(EJECTED) ? "ejected" : "") + (has(FAILED_ACTIVE_HEALTH_CHECK) ? " failed_active_hc" : "");
  }
}
