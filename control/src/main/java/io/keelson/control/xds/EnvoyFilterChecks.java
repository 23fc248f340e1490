package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * {@link EnvoyFilterPatches#applyChecked} with its verdicts remembered, so that proxies of one shape share the data
 * plane's translations instead of each running them: the problems of a set of resources are kept by its content (the
 * four digest versions), and each step's verdict (accepted: the patched resources and their problems; refused: why) by
 * what decides it: the resources before the step (their versions), the EnvoyFilter's key and patches, and gateway or
 * sidecar. The order of the EnvoyFilters is in the chain: a step's input is the output of the steps before it. So a
 * change to one EnvoyFilter re-checks its own step and those after it on the proxies it selects, nothing else.
 *
 * <p>Bounded: entries not used since the previous {@link #sweep} are dropped by it (the caller sweeps after each
 * change has been pushed), and each map keeps at most {@link #MAX_ENTRIES}, least recently used first out. Not
 * thread-safe: the caller holds its lock (XdsServer's pushLock).
 */
final class EnvoyFilterChecks {
  static final int MAX_ENTRIES = 4096;

  /** What decides one EnvoyFilter's verdict. */
  private record Step(String input, String filter, List<Policy.EnvoyFilterPatch> patches, boolean gateway) {}

  /** One step's outcome: the resources after it and their problems, or (refused) why it is not applied. */
  private record Verdict(MeshResources next, List<String> problems, String refusal) {}

  private final Memo<String, List<String>> problems = new Memo<>();
  private final Memo<Step, Verdict> verdicts = new Memo<>();
  private long translations;

  /** {@code r} patched by those of {@code filters} the data plane takes, as {@link EnvoyFilterPatches#applyChecked}. */
  EnvoyFilterPatches.Patched apply(MeshResources r, List<Policy.EnvoyFilter> filters, boolean gateway) {
    if (filters.isEmpty()) {
      return new EnvoyFilterPatches.Patched(r, List.of(), List.of());
    }
    MeshResources current = r;
    List<String> before = problems(r);
    List<String> applied = new ArrayList<>();
    List<String> refused = new ArrayList<>();
    for (Policy.EnvoyFilter f : filters) {
      MeshResources in = current;
      List<String> known = before;
      Verdict v = verdicts.get(new Step(in.version(), f.meta().key(), f.patches(), gateway), k -> {
        MeshResources next = EnvoyFilterPatches.apply(in, List.of(f), gateway);
        List<String> after = problems(next);
        String refusal = EnvoyFilterPatches.refusal(f, known, after);
        return refusal == null ? new Verdict(next, after, null) : new Verdict(null, known, refusal);
      });
      if (v.refusal() == null) {
        current = v.next();
        before = v.problems();
        applied.add(f.meta().key());
      } else {
        refused.add(v.refusal());
      }
    }
    return new EnvoyFilterPatches.Patched(current, List.copyOf(applied), List.copyOf(refused));
  }

  /** Drops what was not used since the previous sweep (call after a change has been pushed to every proxy). */
  void sweep() {
    problems.sweep();
    verdicts.sweep();
  }

  /** The data plane's translations run since start: one per distinct set of resources checked. */
  long translations() {
    return translations;
  }

  private List<String> problems(MeshResources r) {
    return problems.get(r.version(), k -> {
      translations++;
      return EnvoyFilterPatches.problems(r);
    });
  }

  /** A bounded map remembering when each entry was last used (by sweep round). */
  private static final class Memo<K, V> {
    private record Used<V>(V value, long round) {}

    private final Map<K, Used<V>> entries = new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<K, Used<V>> eldest) {
        return size() > MAX_ENTRIES;
      }
    };
    private long round;

    V get(K key, Function<K, V> compute) {
      Used<V> u = entries.get(key);
      V value = u != null ? u.value() : compute.apply(key);
      if (u == null || u.round() != round) {
        entries.put(key, new Used<>(value, round));
      }
      return value;
    }

    void sweep() {
      entries.values().removeIf(u -> u.round() != round);
      round++;
    }
  }
}
