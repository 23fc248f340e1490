package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The current state's {@link SourceMatches} views and the sidecar translations made from them, one per signature (and
 * proxy kind), never one per proxy: every proxy whose workload meets the same {@code sourceLabels}/{@code
 * sourceNamespace} matches shares them, and a proxy of another signature never gets them. Cleared on each change. Not
 * thread-safe: the xDS server uses it under its push lock.
 */
final class SourceViews {
  private PolicySet state = PolicySet.EMPTY;
  private boolean bySource;
  private final Map<String, PolicySet> views = new HashMap<>();
  private final Map<String, MeshResources> shared = new HashMap<>();

  /** A new state: forget the views and translations of the previous one. */
  void changed(PolicySet state) {
    this.state = state;
    views.clear();
    shared.clear();
    bySource = state.ofType(Policy.Routes.class).stream().anyMatch(SourceMatches::bySource);
  }

  /** The signature of a proxy with workload {@code labels} in {@code namespace}: "" when no match depends on it. */
  String signature(Map<String, String> labels, String namespace) {
    return bySource ? SourceMatches.signature(state, labels, namespace) : "";
  }

  /** The state as proxies of {@code signature} (that of {@code labels} and {@code namespace}) see it. */
  PolicySet view(String signature, Map<String, String> labels, String namespace) {
    return signature.isEmpty() ? state
        : views.computeIfAbsent(signature, s -> SourceMatches.view(state, labels, namespace));
  }

  /** The shared translation of {@code signature} for proxy kind {@code kind}, made by {@code translate} once per change. */
  MeshResources shared(String signature, String kind, Supplier<MeshResources> translate) {
    return shared.computeIfAbsent(signature + "|" + kind, k -> translate.get());
  }

  /** Shared translations held for the current state, for tests. */
  int size() {
    return shared.size();
  }
}
