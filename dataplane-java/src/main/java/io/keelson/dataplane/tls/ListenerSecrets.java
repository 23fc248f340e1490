package io.keelson.dataplane.tls;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The SDS secrets a proxy's listeners name beyond its own identity ({@link LocalSecrets}), by name: one
 * {@link ListenerSecret} slot per name, kept for the proxy's life so a listener built on it follows every later
 * update. The xDS client updates slots and binds the registry to its thread while translating
 * ({@link #with}), as {@link LocalSecrets} does. Slots are created and updated on the xDS thread only; event loops
 * read a slot's material. Material for a new listener set is staged ({@link #stage}) while it is translated and
 * swapped in only once the translation succeeded ({@link #promoteStaged}); slots no listener names any more are
 * dropped and cleared ({@link #retain}) so a deleted credential's key is not kept. Thread-safe.
 */
public final class ListenerSecrets {
  private static final ThreadLocal<ListenerSecrets> CURRENT = new ThreadLocal<>();
  private final Map<String, ListenerSecret> slots = new ConcurrentHashMap<>();
  /** Material checked for the translation in progress, not serving yet; xDS thread only. */
  private final Map<String, ListenerSecret.Material> staged = new java.util.HashMap<>();
  /** Names whose initial fetch deadline passed: a listener on them is built empty, its handshakes failing. */
  private final java.util.Set<String> givenUp = ConcurrentHashMap.newKeySet();

  /** Puts the staged material back to what it replaced ({@link #promoteStaged}'s result). */
  public interface Rollback {
    void restore();
  }

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

  /** Parses and checks material for {@code name} ({@code ca} non-null: a validation context) without serving it. */
  public void stage(String name, PemSource chain, PemSource key, PemSource ca) {
    staged.put(name, ListenerSecret.parse(chain, key, ca));
  }

  /**
   * Marks {@code name}'s initial fetch deadline passed (Envoy ends listener warming there): a listener naming it may be
   * built on the empty slot, failing handshakes until the secret arrives.
   */
  public void giveUp(String name) {
    givenUp.add(name);
  }

  /** True when a listener may be built on {@code slot} although nothing was delivered (see {@link #giveUp}). */
  public boolean givenUp(ListenerSecret slot) {
    return givenUp.contains(slot.name());
  }

  /** True when {@code slot} holds material, or has some staged for the translation in progress. */
  public boolean delivered(ListenerSecret slot) {
    return slot.delivered() || staged.containsKey(slot.name());
  }

  /** Forgets the staged material (its translation failed): the slots keep serving what they held. */
  public void discardStaged() {
    staged.clear();
  }

  /** Swaps the staged material into its slots; the result undoes that (the snapshot was refused). */
  public Rollback promoteStaged() {
    Map<ListenerSecret, ListenerSecret.Material> previous = new java.util.HashMap<>();
    staged.forEach((name, m) -> {
      ListenerSecret s = slot(name);
      previous.put(s, s.material());
      s.set(m);
    });
    staged.clear();
    return () -> previous.forEach(ListenerSecret::set);
  }

  /** Drops (and clears) every slot not in {@code names}: no listener serves it any more. */
  public void retain(java.util.Set<String> names) {
    givenUp.retainAll(names);
    slots.values().removeIf(s -> {
      if (names.contains(s.name())) {
        return false;
      }
      s.set(null);
      return true;
    });
  }

  /** The names that have a slot, for tests. */
  public java.util.Set<String> names() {
    return java.util.Set.copyOf(slots.keySet());
  }

  /** Runs {@code work} with {@code secrets} bound to this thread (null: none). */
  public static <T, E extends Exception> T with(ListenerSecrets secrets, LocalSecrets.Work<T, E> work) throws E {
    return LocalSecrets.bound(CURRENT, secrets, work);
  }

  /** The registry bound to this thread, or null. */
  public static ListenerSecrets current() {
    return CURRENT.get();
  }
}
