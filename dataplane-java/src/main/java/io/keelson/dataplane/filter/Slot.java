package io.keelson.dataplane.filter;

/**
 * One value a filter leaves for the connection to act on once per exchange (a check to make, the paused rest of the
 * chain): set by the filter, taken by the connection, which leaves it empty so a second look finds nothing.
 * Pre-allocated with its {@link FilterContext}; not thread-safe, as its owner.
 */
final class Slot<T> {
  private T value;

  void set(T v) {
    value = v;
  }

  /** The value, or null; the slot keeps it. */
  T peek() {
    return value;
  }

  /** The value, or null; the slot is empty afterwards. */
  T take() {
    T v = value;
    value = null;
    return v;
  }

  void clear() {
    value = null;
  }

  /** Empties the slot if it still holds {@code v} (the same object): another owner's value stays. */
  void clearIf(Object v) {
    if (value == v) {
      value = null;
    }
  }

  /** Holds what {@code other} holds (both keep it). */
  void copy(Slot<T> other) {
    value = other.value;
  }
}
