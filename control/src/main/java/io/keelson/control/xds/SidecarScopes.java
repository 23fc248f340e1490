package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Istio's {@code Sidecar} resource applied to sidecars: which Sidecar scopes a workload ({@link #resolve}: one with a
 * matching {@code workloadSelector} in its namespace, else its namespace's selector-less one, else the root namespace's;
 * several matching selectors: the first by name, where Istio takes the oldest), the policy state narrowed to the
 * services and ServiceEntry hosts its {@code egress[].hosts} admit ({@link #scoped}), and the shared translations of
 * that narrowed state, one per Sidecar, outbound port, capture and mTLS, never one per proxy: every sidecar a Sidecar
 * scopes shares them. A Sidecar's {@code outboundTrafficPolicy.mode} replaces the mesh's for its sidecars. Registry
 * services and ServiceEntries live in the one mesh namespace {@value MeshNames#NAMESPACE} ({@link MeshNames}), so a
 * host {@code ./svc-a} admits {@code svc-a} for a Sidecar in that namespace, and every name of a service
 * ({@code svc-a}, {@code svc-a.default}, ..., {@code svc-a.default.svc.cluster.local}) is matched.
 * Not thread-safe: used under the xDS server's push lock.
 */
final class SidecarScopes {
  private final OutboundTrafficPolicy meshPolicy;
  private final String rootNamespace;
  // The current state's Sidecars (set by changed()).
  private List<Policy.Sidecar> sidecars = List.of();
  // Per Sidecar key, the narrowed state; per scope and proxy kind, the shared translation: both cleared on each change.
  private final Map<String, PolicySet> states = new HashMap<>();
  private final Map<String, MeshResources> shared = new HashMap<>();
  // Per Sidecar key, port, capture and mode: kept across changes (endpoint lists reused), dropped with their Sidecar.
  private final Map<String, MeshTranslator> translators = new HashMap<>();

  SidecarScopes(OutboundTrafficPolicy meshPolicy, String rootNamespace) {
    this.meshPolicy = meshPolicy;
    this.rootNamespace = rootNamespace;
  }

  /** A new state: forget its translations, and the translators of Sidecars it no longer has. */
  void changed(PolicySet state) {
    sidecars = state.ofType(Policy.Sidecar.class);
    states.clear();
    shared.clear();
    java.util.Set<String> keys = new java.util.HashSet<>();
    sidecars.forEach(s -> keys.add(s.meta().key()));
    translators.keySet().removeIf(k -> !keys.contains(k.substring(0, k.indexOf('|'))));
  }

  /** The Sidecar scoping a workload of {@code namespace} with {@code labels} under the current state, or null. */
  Policy.Sidecar resolve(String namespace, Map<String, String> labels) {
    return resolve(sidecars, namespace, labels, rootNamespace);
  }

  /** The Sidecar of {@code all} scoping a workload of {@code namespace} with {@code labels}, or null. */
  static Policy.Sidecar resolve(List<Policy.Sidecar> all, String namespace, Map<String, String> labels,
      String rootNamespace) {
    Policy.Sidecar forNamespace = null;
    Policy.Sidecar forRoot = null;
    for (Policy.Sidecar s : all) { // in key order (namespace, then name)
      if (s.namespace().equals(namespace)) {
        if (s.selector() == null) {
          forNamespace = forNamespace == null ? s : forNamespace;
        } else if (MeshTranslator.matches(s.selector(), labels)) {
          return s;
        }
      } else if (s.selector() == null && s.namespace().equals(rootNamespace)) {
        forRoot = forRoot == null ? s : forRoot;
      }
    }
    return forNamespace != null ? forNamespace : forRoot;
  }

  /** {@code sc}'s outbound traffic policy: its own mode, else {@code mesh}. */
  static OutboundTrafficPolicy mode(Policy.Sidecar sc, OutboundTrafficPolicy mesh) {
    return sc.outboundMode() == null ? mesh : OutboundTrafficPolicy.parse(sc.outboundMode());
  }

  /**
   * {@code state} with only the Services and ServiceEntry hosts {@code sc} admits (an entry keeps its admitted hosts);
   * everything else (workloads, routes, policies) is kept: a route to a service out of scope finds no cluster (503),
   * as in Istio.
   */
  static PolicySet scoped(PolicySet state, Policy.Sidecar sc) {
    List<Policy> narrowed = new ArrayList<>();
    PolicySet out = state.without(p -> switch (p) {
      case Policy.Service s -> !sc.admits(MeshNames.NAMESPACE, MeshNames.names(s.name()));
      case Policy.ServiceEntry se -> {
        List<String> hosts = se.hosts().stream().filter(h -> sc.admits(MeshNames.NAMESPACE, List.of(h))).toList();
        if (!hosts.isEmpty() && hosts.size() < se.hosts().size()) {
          narrowed.add(new Policy.ServiceEntry(se.meta(), hosts, se.ports(), se.external(), se.resolution(),
              se.endpoints()));
        }
        yield hosts.isEmpty();
      }
      default -> false;
    });
    return narrowed.isEmpty() ? out : out.with(narrowed);
  }

  /**
   * What every sidecar {@code sc} scopes on outbound port {@code port} shares, captured or not, with an identity
   * ({@code mtls}) or not: translated once per change.
   */
  MeshResources shared(PolicySet state, Policy.Sidecar sc, int port, boolean captured, boolean mtls,
      Supplier<Collection<Policy.Workload>> workloads, Supplier<Map<String, MeshTranslator.Self>> identities) {
    String key = sc.meta().key();
    OutboundTrafficPolicy mode = mode(sc, meshPolicy);
    return shared.computeIfAbsent(key + "|" + port + "|" + captured + "|" + mtls, k -> {
      MeshTranslator t = translators.computeIfAbsent(key + "|" + port + "|" + captured + "|" + mode,
          q -> new MeshTranslator(port, false, captured, mode));
      PolicySet view = states.computeIfAbsent(key, q -> scoped(state, sc));
      return t.translateShared(view, workloads.get(), mtls ? identities.get() : Map.of(), mtls);
    });
  }

  /** A dry run: what a sidecar {@code sc} scopes (null: none) would get under {@code state}, without an identity. */
  static MeshResources preview(PolicySet state, Policy.Sidecar sc, int port, boolean captured,
      OutboundTrafficPolicy mesh, Collection<Policy.Workload> workloads) {
    PolicySet view = sc == null ? state : scoped(state, sc);
    return new MeshTranslator(port, false, captured, sc == null ? mesh : mode(sc, mesh)).translate(view, workloads);
  }

  /** Shared scoped translations run since start, for tests. */
  long translations() {
    long n = 0;
    for (MeshTranslator t : translators.values()) {
      n += t.translations();
    }
    return n;
  }
}
