package io.keelson.dataplane.balance;

/**
 * Earliest deadline first over weighted entries, as Envoy's EdfScheduler: each entry's next deadline
 * is the current time plus 1/weight, and the entry with the earliest deadline goes next (ties by
 * insertion order). A binary min-heap of entry indices in plain arrays, so picks allocate nothing.
 * Not thread-safe: owned by one balancer's picking thread.
 */
final class EdfSchedule {
  private final int[] heap;
  private final double[] deadline;
  private final long[] order;
  private long sequence;
  private double now;
  /** The entry {@link #next} returned, awaiting {@link #reschedule}; -1 when none. */
  private int taken = -1;

  EdfSchedule(double[] weights) {
    int n = weights.length;
    heap = new int[n];
    deadline = new double[n];
    order = new long[n];
    for (int i = 0; i < n; i++) {
      deadline[i] = 1.0 / weights[i];
      order[i] = sequence++;
      heap[i] = i;
    }
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(i, n);
    }
  }

  /** Removes and returns the entry with the earliest deadline; call {@link #reschedule} for it next. */
  int next() {
    int top = heap[0];
    now = deadline[top];
    taken = top;
    return top;
  }

  /** Puts the entry {@link #next} returned back with its weight as of now. */
  void reschedule(int entry, double weight) {
    if (entry != taken) {
      throw new IllegalStateException("reschedule " + entry + " but " + taken + " was taken");
    }
    deadline[entry] = now + 1.0 / weight;
    order[entry] = sequence++;
    // The taken entry is still at the root; its deadline only grew.
    siftDown(0, heap.length);
    taken = -1;
  }

  private boolean before(int a, int b) {
    return deadline[a] < deadline[b] || (deadline[a] == deadline[b] && order[a] < order[b]);
  }

  private void siftDown(int i, int n) {
    int entry = heap[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && before(heap[child + 1], heap[child])) {
        child++;
      }
      if (!before(heap[child], entry)) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = entry;
  }
}
