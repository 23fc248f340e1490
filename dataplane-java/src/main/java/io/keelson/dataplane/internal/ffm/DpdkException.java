package io.keelson.dataplane.internal.ffm;

/**
 * A shim call that returned -errno, with the call and DPDK's own words for the error.
 *
 * <p>Threading: immutable.
 */
public final class DpdkException extends RuntimeException {
  private final int errno;

  DpdkException(String call, int rc) {
    super(call + " failed: " + Dpdk.strerror(rc) + " (errno " + -rc + ")");
    this.errno = -rc;
  }

  /** The positive errno. */
  public int errno() {
    return errno;
  }

  /** Throws unless {@code rc} is a success (non-negative); returns it. */
  static int check(String call, int rc) {
    if (rc < 0) {
      throw new DpdkException(call, rc);
    }
    return rc;
  }
}
