package io.keelson.dataplane.packet.conntrack;

/**
 * How many flow slots the idle sweep ({@link ConnTrack#expire}) examines in a burst: enough for one full
 * pass over the slots in use per pass period, and never more than the per-burst bound.
 *
 * <p>Paced by time, not by bursts. A fixed number of slots per burst made a busy gateway re-read every
 * flow's record hundreds of times a second (64 slots per burst over 3,840 flows at 10 Mpps: 800 passes a
 * second), each read a likely cache miss, for timeouts measured in seconds. Work owed across a gap
 * between bursts is capped at one pass, so an idle spell does not turn into a long sweep later.
 *
 * <p>Threading: the forwarding stage's thread only.
 */
public final class SweepPacer {
  /** The longest pass: a flow is examined at least this often while bursts arrive. */
  public static final long MAX_PASS_NANOS = 1_000_000_000L;

  private long passNanos = MAX_PASS_NANOS;
  /** Slot-nanoseconds owed: elapsed time times slots in use, paid {@code passNanos} per slot examined. */
  private long owed;
  private long last;
  private boolean started;

  /**
   * Sets the pass period from the shortest idle timeout: a quarter of it, at most {@link #MAX_PASS_NANOS},
   * so a flow is found at most a quarter of its timeout late.
   */
  public void shortestTimeout(long nanos) {
    if (nanos <= 0) {
      throw new IllegalArgumentException("shortest idle timeout must be positive, got " + nanos + " ns");
    }
    passNanos = Math.max(1, Math.min(MAX_PASS_NANOS, nanos / 4));
  }

  public long passNanos() {
    return passNanos;
  }

  /**
   * Slots to examine now.
   *
   * @param now the burst's clock reading (ns)
   * @param inUse slots the sweep covers (the highest flow id handed out, plus one)
   * @param maxSlots the per-burst bound
   */
  public int slots(long now, int inUse, int maxSlots) {
    long elapsed = started ? now - last : passNanos;
    started = true;
    last = now;
    if (inUse <= 0) {
      owed = 0;
      return 0;
    }
    long onePass = (long) inUse * passNanos;
    if (elapsed < 0) {
      elapsed = 0; // the clock stepped back: nothing new is owed
    } else if (elapsed > passNanos) {
      elapsed = passNanos; // an idle gap: at most one pass is owed
    }
    owed = Math.min(owed + elapsed * inUse, onePass);
    long n = Math.min(owed / passNanos, Math.min(maxSlots, inUse));
    owed -= n * passNanos;
    return (int) n;
  }
}
