package io.keelson.dataplane.tls;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The SDS secrets a proxy's listeners name beyond its own identity ({@link LocalSecrets}), by name: one
 * {@link ListenerSecret} slot per name, kept for the proxy's life so a listener built on it follows every later
 * update. The xDS client updates slots and binds the registry to its thread while translating
 * ({@link #with}), as {@link LocalSecrets} does. Slots are created and updated on the xDS thread only; event loops
 * read a slot's material. Thread-safe.
 */
public final class ListenerSecrets {
  private static final ThreadLocal<ListenerSecrets> CURRENT = new ThreadLocal<>();
  private final Map<String, ListenerSecret> slots = new ConcurrentHashMap<>();

  /** The slot of {@code name}, created empty on first use. */
  public ListenerSecret slot(String name) {
    return slots.computeIfAbsent(name, ListenerSecret::new);
  }

  /** A certificate and key delivered for {@code name}: parsed and checked here, then swapped in. */
  public void updateCertificate(String name, PemSource chain, PemSource key) {
    slot(name).update(chain, key, null); // swaps only once parsed and checked
  }

  /** CAs delivered for {@code name} (a validation context): parsed here, then swapped in. */
  public void updateCa(String name, PemSource ca) {
    slot(name).update(null, null, ca);
  }

  /** Runs {@code work} with {@code secrets} bound to this thread (null: none). */
  public static <T, E extends Exception> T with(ListenerSecrets secrets, LocalSecrets.Work<T, E> work) throws E {
    ListenerSecrets previous = CURRENT.get();
    CURRENT.set(secrets);
    try {
      return work.run();
    } finally {
      if (previous == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(previous);
      }
    }
  }

  /** The registry bound to this thread, or null. */
  public static ListenerSecrets current() {
    return CURRENT.get();
  }
}
