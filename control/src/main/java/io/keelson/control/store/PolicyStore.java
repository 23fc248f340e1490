package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The applied policy state, in memory, optionally persisted to a data directory. Changes are
 * all-or-nothing: a candidate state is checked whole (and written to disk) before it replaces the
 * current one. Thread-safe: changes are serialized; readers see immutable {@link PolicySet}s.
 * Listeners run on the changing thread, after the change, in registration order. With a shared
 * {@link Backend} (etcd) a change is written there before it becomes current, and the backend's watch
 * thread brings other replicas' changes in through {@link #replace}.
 */
public final class PolicyStore {
  /** Attempts of a change that a concurrent change of a shared backend invalidated. */
  static final int ATTEMPTS = 5;
  private final DataDir dataDir;
  private final Backend backend;
  private final List<Consumer<PolicySet>> listeners = new CopyOnWriteArrayList<>();
  private volatile PolicySet current;

  /** What a change did (or, in a dry run, would do): keys created, changed, unchanged, deleted. */
  public record Change(List<String> created, List<String> configured, List<String> unchanged, List<String> deleted,
      PolicySet before, PolicySet after) {
    public boolean isEmpty() {
      return created.isEmpty() && configured.isEmpty() && deleted.isEmpty();
    }
  }

  /**
   * A store shared by several replicas (etcd). Its methods are called under the store's lock, on the
   * changing thread; they block on the network.
   */
  public interface Backend {
    /**
     * Writes {@code after} in place of {@code before} as one all-or-nothing write, only if the shared
     * state is still the one {@code before} was read from.
     *
     * @throws ConcurrentChangeException when it is not (nothing was written)
     * @throws PolicyException           naming the backend when it cannot be written (nothing was written)
     */
    void save(PolicySet before, PolicySet after) throws PolicyException, ConcurrentChangeException;

    /** Reads the shared state again (after a concurrent change), given the current one to reuse instances from. */
    PolicySet reload(PolicySet current) throws PolicyException;
  }

  /** The shared state changed since the change was validated: validate again against the new state. */
  public static final class ConcurrentChangeException extends Exception {
    public ConcurrentChangeException(String message) {
      super(message);
    }
  }

  /** A store with no persistence. */
  public PolicyStore() {
    this.dataDir = null;
    this.backend = null;
    this.current = PolicySet.EMPTY;
  }

  /** A store that loads its state from {@code dataDir} (null = memory only) and writes every change there. */
  public PolicyStore(DataDir dataDir) throws PolicyException {
    this.dataDir = dataDir;
    this.backend = null;
    this.current = dataDir == null ? PolicySet.EMPTY : dataDir.load();
  }

  /** A store whose state is {@code backend}'s, starting from {@code initial} (read from it). */
  public PolicyStore(Backend backend, PolicySet initial) {
    this.dataDir = null;
    this.backend = Objects.requireNonNull(backend);
    this.current = initial;
  }

  /**
   * Replaces the state with {@code next.apply(current)} (a state the backend observed: another replica's
   * change); listeners run when the documents differ. Serialized with changes.
   */
  public synchronized void replace(java.util.function.UnaryOperator<PolicySet> next) {
    PolicySet before = current;
    PolicySet after = next.apply(before);
    if (after == before || after.byKey().equals(before.byKey())) {
      return;
    }
    current = after;
    for (Consumer<PolicySet> l : listeners) {
      l.accept(after);
    }
  }

  public PolicySet current() {
    return current;
  }

  public void onChange(Consumer<PolicySet> listener) {
    listeners.add(Objects.requireNonNull(listener));
  }

  /** Adds or replaces {@code policies} as one change. */
  public Change apply(Collection<Policy> policies, boolean dryRun) throws PolicyException {
    return change(p -> false, policies, dryRun);
  }

  /**
   * Removes the documents {@code drop} selects and adds {@code policies}, as one change: how a
   * watched file's new content replaces its old content.
   */
  public synchronized Change change(Predicate<Policy> drop, Collection<Policy> policies, boolean dryRun)
      throws PolicyException {
    for (int attempt = 1; ; attempt++) {
      try {
        return tryChange(drop, policies, dryRun);
      } catch (ConcurrentChangeException e) {
        retryAfter(e, attempt);
      }
    }
  }

  private Change tryChange(Predicate<Policy> drop, Collection<Policy> policies, boolean dryRun)
      throws PolicyException, ConcurrentChangeException {
    PolicySet before = current;
    List<String> seen = new ArrayList<>();
    List<PolicyError> dup = new ArrayList<>();
    for (Policy p : policies) {
      if (seen.contains(p.meta().key())) {
        dup.add(new PolicyError(p.meta().file(), p.meta().key(), "metadata.name",
            "the set has two documents named " + p.meta().key() + "; expected one"));
      }
      seen.add(p.meta().key());
    }
    if (!dup.isEmpty()) {
      throw new PolicyException(dup);
    }
    PolicySet after = before.without(drop).with(policies);
    List<PolicyError> errors = References.check(after, List.copyOf(after.all()));
    if (!errors.isEmpty()) {
      throw new PolicyException(errors);
    }
    Change change = diff(before, after, seen);
    if (dryRun || change.isEmpty()) {
      return change;
    }
    commit(before, after);
    return change;
  }

  /** Deletes Kind/name in whatever namespace it is, when that is only one (see below). */
  public Change delete(String kind, String name, boolean dryRun) throws PolicyException {
    return delete(kind, null, name, dryRun);
  }

  /**
   * Deletes Kind/name in {@code namespace} (null: in the only namespace that has one); fails (nothing
   * changes) when it does not exist, when {@code namespace} is null and several namespaces have one,
   * or when it is still referenced.
   */
  public synchronized Change delete(String kind, String namespace, String name, boolean dryRun) throws PolicyException {
    for (int attempt = 1; ; attempt++) {
      try {
        return tryDelete(kind, namespace, name, dryRun);
      } catch (ConcurrentChangeException e) {
        retryAfter(e, attempt);
      }
    }
  }

  /** After a concurrent change: the backend's state becomes current, or the change is refused after the last attempt. */
  private void retryAfter(ConcurrentChangeException e, int attempt) throws PolicyException {
    if (attempt >= ATTEMPTS) {
      throw new PolicyException(List.of(new PolicyError("request", "state", "", e.getMessage()
          + "; refused after " + ATTEMPTS + " attempts, nothing was applied: apply again")), true);
    }
    try {
      // A random pause, so replicas racing each other do not collide again in step.
      Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(5, 20 * attempt));
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new PolicyException(List.of(new PolicyError("request", "state", "", "interrupted, nothing was applied")));
    }
    PolicySet fresh = backend.reload(current);
    replace(old -> fresh);
  }

  private Change tryDelete(String kind, String namespace, String name, boolean dryRun)
      throws PolicyException, ConcurrentChangeException {
    PolicySet before = current;
    List<Policy> found = before.find(kind, namespace, name);
    String what = Policy.Meta.key(kind, namespace, name);
    if (found.isEmpty()) {
      throw new PolicyException(List.of(new PolicyError("request", what, "", "not found")));
    }
    if (found.size() > 1) {
      throw new PolicyException(List.of(new PolicyError("request", what, "", "exists in namespaces "
          + found.stream().map(Policy::namespace).toList() + "; name one (--namespace NS)")));
    }
    String key = found.getFirst().meta().key();
    PolicySet after = before.without(p -> p.meta().key().equals(key));
    List<PolicyError> broken = References.check(after, List.copyOf(after.all()));
    if (!broken.isEmpty()) {
      List<PolicyError> errors = new ArrayList<>();
      for (PolicyError e : broken) {
        errors.add(new PolicyError(e.file(), e.doc(), e.path(), "would break if " + key
            + " were deleted: " + e.reason()));
      }
      throw new PolicyException(errors);
    }
    Change change = diff(before, after, List.of());
    if (!dryRun) {
      commit(before, after);
    }
    return change;
  }

  private void commit(PolicySet before, PolicySet after) throws PolicyException, ConcurrentChangeException {
    if (dataDir != null) {
      dataDir.save(after);
    }
    if (backend != null) {
      backend.save(before, after);
    }
    current = after;
    for (Consumer<PolicySet> l : listeners) {
      l.accept(after);
    }
  }

  /** {@code applied}: the keys of the documents applied; only those are reported unchanged. */
  private static Change diff(PolicySet before, PolicySet after, List<String> applied) {
    List<String> created = new ArrayList<>();
    List<String> configured = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    List<String> deleted = new ArrayList<>();
    for (var e : after.byKey().entrySet()) {
      Policy old = before.byKey().get(e.getKey());
      if (old == null) {
        created.add(e.getKey());
      } else if (!old.meta().source().equals(e.getValue().meta().source())) {
        configured.add(e.getKey());
      } else if (applied.contains(e.getKey())) {
        unchanged.add(e.getKey());
      }
    }
    for (String k : before.byKey().keySet()) {
      if (!after.byKey().containsKey(k)) {
        deleted.add(k);
      }
    }
    return new Change(created, configured, unchanged, deleted, before, after);
  }
}
