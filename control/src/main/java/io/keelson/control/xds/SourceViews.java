package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.Delegation;
import io.keelson.control.store.PolicySet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The current state's views per calling proxy and the sidecar translations made from them, one per signature (and
 * proxy kind), never one per proxy: the {@link SourceMatches} a proxy's workload meets ({@code sourceLabels},
 * {@code sourceNamespace}), what its namespace sees ({@link ExportVisibility}) and the DestinationRules its namespace
 * gets ({@link DestinationRuleLookup}, over what it sees); every proxy of the same signature shares them, and a proxy of
 * another signature never gets them. Cleared on each change. Not thread-safe: the xDS server uses it under its push lock.
 */
final class SourceViews {
  /** Marks a signature whose namespace has DestinationRules of its own: {@code |dr:NAMESPACE}. */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SourceViews.class);
  private static final String OWN_RULES = "|dr:";
  private PolicySet state = PolicySet.EMPTY;
  private PolicySet shared = PolicySet.EMPTY;
  private String root;
  private DestinationRuleLookup rules = new DestinationRuleLookup(PolicySet.EMPTY, null);
  private ExportVisibility.Defaults exports = ExportVisibility.Defaults.PUBLIC;
  private boolean bySource;
  private boolean byExport;
  private final Map<String, PolicySet> views = new HashMap<>();
  private final Map<String, MeshResources> translations = new HashMap<>();
  // Per client namespace, what it does not see (ExportVisibility's signature).
  private final Map<String, String> exportSignatures = new HashMap<>();
  private boolean live = true; // false for a dry run's views (of): they warn about nothing
  private final ChangeWarnings delegationWarnings = new ChangeWarnings(LOG); // delegates not exported
  // Per namespace and workload labels, the signature: every push asks once per proxy, N proxies alike cost one pass.
  private final Map<Workload, String> signatures = new HashMap<>();
  private int lookups; // DestinationRuleLookups built for the current state
  private int computed; // signatures computed (passes over the state's routes) for the current state

  private record Workload(String namespace, Map<String, String> labels) {}

  /**
   * A new state (with every namespace's DestinationRules): forget the views and translations of the previous one. A
   * root VirtualService keeps only its delegates exported to its namespace ({@link Delegation#withExportedDelegates}).
   * Returns the state proxies of the empty signature see: one DestinationRule per host, by the shared lookup.
   */
  PolicySet changed(PolicySet current, String rootNamespace) {
    // A delegate not exported to its root's namespace is no part of the root, for every proxy (istiod merges first).
    java.util.Set<String> unexported = new java.util.TreeSet<>();
    state = Delegation.withExportedDelegates(current, exports.virtualServices(), unexported);
    if (live) { // once per change of a (root, delegate) pair, not on every change nor from a dry run
      delegationWarnings.round();
      unexported.forEach(why -> delegationWarnings.warn(why, () -> why));
    }
    root = rootNamespace;
    views.clear();
    translations.clear();
    exportSignatures.clear();
    signatures.clear();
    computed = 0;
    bySource = state.ofType(Policy.Routes.class).stream().anyMatch(SourceMatches::bySource);
    byExport = ExportVisibility.limits(state, exports);
    rules = new DestinationRuleLookup(state, rootNamespace, exports.destinationRules());
    lookups = 1;
    shared = rules.view(null);
    return shared;
  }

  /** Warnings logged since start that a root's delegate is not exported to the root's namespace, for tests. */
  long delegationWarnings() {
    return delegationWarnings.logged();
  }

  /** Istio's meshConfig exportTo defaults; call {@link #changed} after. */
  void exportDefaults(ExportVisibility.Defaults defaults) {
    this.exports = defaults;
  }

  ExportVisibility.Defaults exportDefaults() {
    return exports;
  }

  /**
   * The signature of a proxy with workload {@code labels} in {@code namespace}: "" when no match, no export and no
   * DestinationRule depends on it.
   */
  String signature(Map<String, String> labels, String namespace) {
    return signatures.computeIfAbsent(new Workload(namespace, labels), w -> compute(labels, namespace));
  }

  private String compute(Map<String, String> labels, String namespace) {
    computed++;
    String source = (bySource ? SourceMatches.signature(state, labels, namespace) : "")
        + (rules.ownRulesFor(namespace) ? OWN_RULES + namespace : "");
    String export = byExport ? exportSignatures.computeIfAbsent(namespace,
        n -> ExportVisibility.signature(state, n, exports)) : "";
    return export.isEmpty() ? source : source + "#" + export;
  }

  /** True when {@code signature} hides documents from its proxies' namespace (not only resolves source matches). */
  static boolean exports(String signature) {
    return signature.indexOf('#') >= 0;
  }

  /** True when proxies of {@code namespace} get other DestinationRules than the shared view has for some host. */
  boolean ownRulesFor(String namespace) {
    return rules.ownRulesFor(namespace);
  }

  /** The state as proxies of {@code signature} (that of {@code labels} and {@code namespace}) see it. */
  PolicySet view(String signature, Map<String, String> labels, String namespace) {
    return signature.isEmpty() ? shared : views.computeIfAbsent(signature, s -> {
      PolicySet ruled = exports(s) ? seenRules(namespace)
          : rules.ownRulesFor(namespace) ? rules.view(namespace) : shared;
      return bySource ? SourceMatches.view(ruled, labels, namespace) : ruled;
    });
  }

  /** What {@code namespace} sees of {@code state}, with the DestinationRules it gets among those. */
  private PolicySet seenRules(String namespace) {
    lookups++;
    return new DestinationRuleLookup(ExportVisibility.view(state, namespace, exports), root, exports.destinationRules())
        .view(namespace);
  }

  /**
   * The views of {@code state} alone, as a dry run compares them: memoised per signature like the live ones, so N
   * proxies of one namespace and labels cost one view, not N.
   */
  static SourceViews of(PolicySet state, ExportVisibility.Defaults exports, String rootNamespace) {
    SourceViews v = new SourceViews();
    v.live = false;
    v.exportDefaults(exports);
    v.changed(state, rootNamespace);
    return v;
  }

  /** The shared translation of {@code signature} for proxy kind {@code kind}, made by {@code translate} once per change. */
  MeshResources shared(String signature, String kind, Supplier<MeshResources> translate) {
    return translations.computeIfAbsent(signature + "|" + kind, k -> translate.get());
  }

  /** Shared translations held for the current state, for tests. */
  int size() {
    return translations.size();
  }

  /** Signatures computed for the current state (one per namespace and labels asked about), for tests. */
  int signaturesComputed() {
    return computed;
  }

  /** DestinationRuleLookups (each a pass over the whole state) built for the current state, for tests. */
  int lookups() {
    return lookups;
  }
}
