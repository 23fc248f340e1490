package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The current state's {@link SourceMatches} views and the sidecar translations made from them, one per signature (and
 * proxy kind), never one per proxy: every proxy whose workload meets the same {@code sourceLabels}/{@code
 * sourceNamespace} matches, and whose namespace gets the same DestinationRules ({@link DestinationRuleLookup}), shares
 * them, and a proxy of another signature never gets them. Cleared on each change. Not thread-safe: the xDS server uses
 * it under its push lock.
 */
final class SourceViews {
  /** Marks a signature whose namespace has DestinationRules of its own: {@code |dr:NAMESPACE}. */
  private static final String OWN_RULES = "|dr:";
  private PolicySet state = PolicySet.EMPTY;
  private PolicySet shared = PolicySet.EMPTY;
  private DestinationRuleLookup rules = new DestinationRuleLookup(PolicySet.EMPTY, null);
  private boolean bySource;
  private final Map<String, PolicySet> views = new HashMap<>();
  private final Map<String, MeshResources> translations = new HashMap<>();

  /**
   * A new state (with every namespace's DestinationRules): forget the views and translations of the previous one.
   * Returns the state proxies of the empty signature see: one DestinationRule per host, by the shared lookup.
   */
  PolicySet changed(PolicySet state, String rootNamespace) {
    this.state = state;
    views.clear();
    translations.clear();
    bySource = state.ofType(Policy.Routes.class).stream().anyMatch(SourceMatches::bySource);
    rules = new DestinationRuleLookup(state, rootNamespace);
    shared = rules.view(null);
    return shared;
  }

  /**
   * The signature of a proxy with workload {@code labels} in {@code namespace}: "" when no match and no DestinationRule
   * depends on it.
   */
  String signature(Map<String, String> labels, String namespace) {
    return (bySource ? SourceMatches.signature(state, labels, namespace) : "")
        + (rules.ownRulesFor(namespace) ? OWN_RULES + namespace : "");
  }

  /** True when proxies of {@code namespace} get other DestinationRules than the shared view has for some host. */
  boolean ownRulesFor(String namespace) {
    return rules.ownRulesFor(namespace);
  }

  /** The state as proxies of {@code signature} (that of {@code labels} and {@code namespace}) see it. */
  PolicySet view(String signature, Map<String, String> labels, String namespace) {
    return signature.isEmpty() ? shared : views.computeIfAbsent(signature, s -> {
      PolicySet ruled = s.endsWith(OWN_RULES + namespace) ? rules.view(namespace) : shared;
      return bySource ? SourceMatches.view(ruled, labels, namespace) : ruled;
    });
  }

  /** The shared translation of {@code signature} for proxy kind {@code kind}, made by {@code translate} once per change. */
  MeshResources shared(String signature, String kind, Supplier<MeshResources> translate) {
    return translations.computeIfAbsent(signature + "|" + kind, k -> translate.get());
  }

  /** Shared translations held for the current state, for tests. */
  int size() {
    return translations.size();
  }
}
