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
 * services and ServiceEntry hosts its {@code egress[].hosts} admit, on the ports its {@code egress[].port}s admit
 * ({@link #scoped}), and the shared translations of
 * that narrowed state, one per Sidecar, outbound port, capture and mTLS, never one per proxy: every sidecar a Sidecar
 * scopes shares them. A Sidecar's {@code outboundTrafficPolicy.mode} replaces the mesh's for its sidecars. Registry
 * services are admitted by their own namespace ({@code shop/*}, {@code ./reviews} in a Sidecar of shop) and every name
 * ({@code svc-a}, {@code svc-a.shop}, ..., {@code svc-a.shop.svc.cluster.local}); ServiceEntry hosts by their entry's
 * namespace.
 * An instance is not thread-safe (the xDS server uses it under its push lock); the static methods are stateless.
 */
final class SidecarScopes {
  private final OutboundTrafficPolicy meshPolicy;
  private final java.time.Duration protocolDetectionTimeout;
  private final String rootNamespace;
  private final String trustDomain;
  private final DistinctDomains domains;
  // The current state's Sidecars (set by changed()).
  private List<Policy.Sidecar> sidecars = List.of();
  // Per Sidecar key, the narrowed state; per scope and proxy kind, the shared translation: both cleared on each change.
  private final Map<String, PolicySet> states = new HashMap<>();
  private final Map<String, MeshResources> shared = new HashMap<>();
  // Per Sidecar key, port, capture and mode: kept across changes (endpoint lists reused), dropped with their Sidecar.
  private final Map<String, MeshTranslator> translators = new HashMap<>();

  /** @param domains the xDS server's domain clash warnings, for its scoped translations */
  SidecarScopes(OutboundTrafficPolicy meshPolicy, java.time.Duration protocolDetectionTimeout, String trustDomain,
      String rootNamespace, DistinctDomains domains) {
    this.domains = domains;
    this.trustDomain = trustDomain;
    this.meshPolicy = meshPolicy;
    this.protocolDetectionTimeout = protocolDetectionTimeout;
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
   * {@code state} with only the Services and ServiceEntry hosts {@code sc} admits, each with only the ports it is
   * admitted on (an egress entry with a {@code port}); an entry keeps its admitted hosts, split into one entry per
   * distinct set of admitted ports. Everything else (workloads, routes, policies) is kept: a route to a service out of
   * scope finds no cluster (503), as in Istio.
   */
  static PolicySet scoped(PolicySet state, Policy.Sidecar sc) {
    List<Policy> narrowed = new ArrayList<>();
    PolicySet out = state.without(p -> switch (p) {
      case Policy.Service s -> {
        List<Integer> ports = sc.admittedPorts(s.serviceNamespace(), MeshNames.admissionNames(s), s.ports());
        if (!ports.isEmpty() && ports.size() < s.ports().size()) {
          Map<Integer, Policy.Protocol> protocols = new HashMap<>(s.protocols());
          protocols.keySet().retainAll(ports);
          narrowed.add(new Policy.Service(s.meta(), ports, protocols, s.address(), s.session(), s.trafficDistribution()));
        }
        yield ports.isEmpty();
      }
      case Policy.ServiceEntry se -> {
        // Hosts by the ports they are admitted on, in host order.
        Map<List<Integer>, List<String>> byPorts = new java.util.LinkedHashMap<>();
        List<Integer> all = se.ports().stream().map(Policy.EntryPort::number).toList();
        for (String h : se.hosts()) {
          List<Integer> ports = sc.admittedPorts(se.meta().effectiveNamespace(), List.of(h), all);
          if (!ports.isEmpty()) {
            byPorts.computeIfAbsent(ports, k -> new ArrayList<>()).add(h);
          }
        }
        if (byPorts.size() == 1 && byPorts.values().iterator().next().size() == se.hosts().size()
            && byPorts.keySet().iterator().next().size() == all.size()) {
          yield false; // admitted whole
        }
        int i = 0;
        for (var e : byPorts.entrySet()) {
          Policy.Meta m = se.meta();
          // Further groups as entries of their own (cluster and host names come from the hosts, not the document).
          Policy.Meta meta = i++ == 0 ? m : new Policy.Meta(m.apiVersion(), m.kind(), m.name() + "~" + i, m.file(),
              m.source(), m.namespace());
          narrowed.add(se.narrowed(meta, e.getValue(),
              se.ports().stream().filter(port -> e.getKey().contains(port.number())).toList()));
        }
        yield byPorts.isEmpty();
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
          q -> new MeshTranslator(port, false, captured, mode, protocolDetectionTimeout, trustDomain, domains));
      PolicySet view = states.computeIfAbsent(key, q -> scoped(state, sc));
      return t.translateShared(view, workloads.get(), mtls ? identities.get() : Map.of(), mtls);
    });
  }

  /**
   * What of Sidecar {@code sc}'s {@code ingress[]} a proxy it selects ignores, one warning each: every entry on a
   * sidecar that is not captured ({@code capture} null: it has no virtualInbound to apply them to), else the entries
   * for a port other than its captured app port (the one inbound app cluster it has).
   */
  static List<String> ignoredIngress(Policy.Sidecar sc, NodeRegistration.Capture capture) {
    List<String> out = new java.util.ArrayList<>();
    for (Policy.SidecarIngress i : sc == null ? List.<Policy.SidecarIngress>of() : sc.ingress()) {
      if (capture == null) {
        out.add(sc.meta().key() + " ingress port " + i.port() + " is ignored: this sidecar is not captured (ingress"
            + " applies to captured sidecars' app port only); expected a captured sidecar, or the entry removed");
      } else if (i.port() != capture.appPort()) {
        out.add(sc.meta().key() + " ingress port " + i.port() + " is ignored: this sidecar's captured app port is "
            + capture.appPort() + "; expected ingress port " + capture.appPort() + ", or the entry removed");
      }
    }
    return out;
  }

  /** A dry run: what a sidecar {@code sc} scopes (null: none) would get under {@code state}, without an identity. */
  static MeshResources preview(PolicySet state, Policy.Sidecar sc, int port, boolean captured,
      OutboundTrafficPolicy mesh, java.time.Duration protocolDetectionTimeout, Collection<Policy.Workload> workloads) {
    PolicySet view = sc == null ? state : scoped(state, sc);
    return new MeshTranslator(port, false, captured, sc == null ? mesh : mode(sc, mesh), protocolDetectionTimeout)
        .translate(view, workloads);
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
