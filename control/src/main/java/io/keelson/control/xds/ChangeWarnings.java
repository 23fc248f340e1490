package io.keelson.control.xds;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Warnings about the state, each logged once while it lasts: a warning is logged the first time a round (a change of
 * the state, {@link #round}) has it, not again while the following rounds still have it, and again if it went away
 * and came back. The translations of a dry run ({@link #quietly}) log nothing. Thread-safe.
 */
final class ChangeWarnings {
  private static final ScopedValue<Boolean> QUIET = ScopedValue.newInstance();
  private final Logger log;
  private Set<String> previous = new HashSet<>(); // the keys of the last round
  private Set<String> current = new HashSet<>(); // the keys of this round so far
  private long logged;

  ChangeWarnings(Logger log) {
    this.log = log;
  }

  /** A new state: what it warns about again is logged only if the last round did not have it. */
  synchronized void round() {
    previous = current;
    current = new HashSet<>();
  }

  /** Logs {@code message} unless this round or the last already had {@code key}, or a dry run asks. */
  synchronized void warn(String key, Supplier<String> message) {
    if (QUIET.isBound() || !current.add(key) || previous.contains(key)) {
      return;
    }
    log.warn(message.get());
    logged++;
  }

  /** Warnings logged since start, for tests. */
  synchronized long logged() {
    return logged;
  }

  /** {@code work}'s result, its warnings not logged (a dry run's translations: the state they warn about may never be). */
  static <T> T quietly(Supplier<T> work) {
    return ScopedValue.where(QUIET, Boolean.TRUE).call(work::get);
  }
}
