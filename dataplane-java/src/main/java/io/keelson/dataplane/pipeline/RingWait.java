package io.keelson.dataplane.pipeline;

/**
 * How a ring pipeline's stage threads wait for the next event: {@link #BLOCKING} (a lock and a
 * condition: no CPU while idle, a wake-up per batch; right where cores are shared), {@link #YIELDING}
 * (spin, then {@code Thread.yield()}), {@link #BUSY_SPIN} (never leaves the CPU: lowest hand-off
 * latency, for threads with a dedicated core each).
 */
public enum RingWait {
  BLOCKING,
  YIELDING,
  BUSY_SPIN
}
