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
 * Listeners run on the changing thread, after the change, in registration order.
 */
public final class PolicyStore {
  private final DataDir dataDir;
  private final List<Consumer<PolicySet>> listeners = new CopyOnWriteArrayList<>();
  private volatile PolicySet current;

  /** What a change did (or, in a dry run, would do): keys created, changed, unchanged, deleted. */
  public record Change(List<String> created, List<String> configured, List<String> unchanged, List<String> deleted,
      PolicySet before, PolicySet after) {
    public boolean isEmpty() {
      return created.isEmpty() && configured.isEmpty() && deleted.isEmpty();
    }
  }

  /** A store with no persistence. */
  public PolicyStore() {
    this.dataDir = null;
    this.current = PolicySet.EMPTY;
  }

  /** A store that loads its state from {@code dataDir} (null = memory only) and writes every change there. */
  public PolicyStore(DataDir dataDir) throws PolicyException {
    this.dataDir = dataDir;
    this.current = dataDir == null ? PolicySet.EMPTY : dataDir.load();
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
    commit(after);
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
      commit(after);
    }
    return change;
  }

  private void commit(PolicySet after) throws PolicyException {
    if (dataDir != null) {
      dataDir.save(after);
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
