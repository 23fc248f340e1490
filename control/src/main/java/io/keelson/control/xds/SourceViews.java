package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The current state's views per calling proxy and the sidecar translations made from them, one per signature (and
 * proxy kind), never one per proxy: the {@link SourceMatches} a proxy's workload meets ({@code sourceLabels},
 * {@code sourceNamespace}) and what its namespace sees ({@link ExportVisibility}); every proxy of the same signature
 * shares them, and a proxy of another signature never gets them. Cleared on each change. Not thread-safe: the xDS
 * server uses it under its push lock.
 */
final class SourceViews {
  private PolicySet state = PolicySet.EMPTY;
  private ExportVisibility.Defaults exports = ExportVisibility.Defaults.PUBLIC;
  private boolean bySource;
  private boolean byExport;
  private final Map<String, PolicySet> views = new HashMap<>();
  private final Map<String, MeshResources> shared = new HashMap<>();
  // Per client namespace, what it does not see (ExportVisibility's signature).
  private final Map<String, String> exportSignatures = new HashMap<>();

  /** A new state: forget the views and translations of the previous one. */
  void changed(PolicySet state) {
    this.state = state;
    views.clear();
    shared.clear();
    exportSignatures.clear();
    bySource = state.ofType(Policy.Routes.class).stream().anyMatch(SourceMatches::bySource);
    byExport = ExportVisibility.limits(state, exports);
  }

  /** Istio's meshConfig exportTo defaults; call {@link #changed} after. */
  void exportDefaults(ExportVisibility.Defaults defaults) {
    this.exports = defaults;
  }

  ExportVisibility.Defaults exportDefaults() {
    return exports;
  }

  /** The signature of a proxy with workload {@code labels} in {@code namespace}: "" when no match or export depends on it. */
  String signature(Map<String, String> labels, String namespace) {
    String source = bySource ? SourceMatches.signature(state, labels, namespace) : "";
    String export = byExport ? exportSignatures.computeIfAbsent(namespace,
        n -> ExportVisibility.signature(state, n, exports)) : "";
    return export.isEmpty() ? source : source + "#" + export;
  }

  /** True when {@code signature} hides documents from its proxies' namespace (not only resolves source matches). */
  static boolean exports(String signature) {
    return signature.indexOf('#') >= 0;
  }

  /** The state as proxies of {@code signature} (that of {@code labels} and {@code namespace}) see it. */
  PolicySet view(String signature, Map<String, String> labels, String namespace) {
    return signature.isEmpty() ? state
        : views.computeIfAbsent(signature, s -> seen(state, labels, namespace, exports));
  }

  /** {@code state} as a proxy with workload {@code labels} in {@code namespace} sees it (stateless). */
  static PolicySet seen(PolicySet state, Map<String, String> labels, String namespace,
      ExportVisibility.Defaults exports) {
    return SourceMatches.view(ExportVisibility.view(state, namespace, exports), labels, namespace);
  }

  /** {@link #signature} under {@code state} (stateless). */
  static String signature(PolicySet state, Map<String, String> labels, String namespace,
      ExportVisibility.Defaults exports) {
    String export = ExportVisibility.signature(state, namespace, exports);
    String source = SourceMatches.signature(state, labels, namespace);
    return export.isEmpty() ? source : source + "#" + export;
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
