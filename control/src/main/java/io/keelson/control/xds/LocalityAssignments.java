package io.keelson.control.xds;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Per calling proxy's locality, the endpoint assignments istiod would send it ({@link LocalityFailover}): a
 * translation's shared resources with the assignments of the clusters whose locality load balancing applies replaced.
 * Cached by <em>caller</em> (its locality, and its values of the labels any {@code failoverPriority} names), never per
 * proxy: 1,000 proxies in three zones cost three derived assignments per cluster, each one instance (packed once,
 * {@link PackedResources}; left out of partial EDS responses while unchanged, {@link PartialEndpoints}). A derived
 * assignment is kept across changes while its base assignment is the same instance and its rule and caller are equal,
 * so an endpoint change rebuilds only the derived assignments of the clusters it touches. Clusters without a rule
 * (no outlierDetection, no distribute, or locality load balancing off) are sent their shared assignment.
 * Thread-safe: called under {@link XdsServer}'s push lock, and synchronized.
 */
final class LocalityAssignments {
  /** What applies to a cluster: its setting; {@code failover} when priorities apply (outlierDetection). */
  record Rule(Policy.LocalityLbSetting setting, boolean failover) {}

  /** A calling proxy, as far as locality load balancing tells proxies apart. */
  /**
   * A caller: its locality, its values of the {@code failoverPriority} labels (only those, so that callers alike share
   * derived assignments), and whether it has labels at all (decides, as istiod, whether labels split endpoints).
   */
  record Caller(Locality locality, Map<String, String> labels, boolean labeled) {}

  private record Key(Rule rule, Caller caller) {}

  private record Derived(ClusterLoadAssignment assignment, byte[] digest) {}

  /**
   * A view's rules, and the labels of the endpoints only it has (a ServiceEntry host defined in several namespaces,
   * each exported to its own: the shared view has one namespace's entry, this view its own), looked up before the
   * shared labels.
   */
  private record ViewRules(Map<String, Rule> rules, Map<String, Map<String, String>> labels) {}

  private boolean meshEnabled = true;
  private Map<String, Rule> rules = Map.of();
  // The state begin() was given (the shared view), and the rules of other views (a client namespace's own
  // DestinationRules: SourceViews), built on first use per change.
  private PolicySet current = PolicySet.EMPTY;
  private final Map<PolicySet, ViewRules> rulesByView = new IdentityHashMap<>();
  private List<String> priorityLabels = List.of();
  private Map<String, Map<String, String>> labelsByEndpoint = Map.of();
  // Per base assignment (by identity): its derived ones. This change's, and the previous change's not yet reused.
  private Map<ClusterLoadAssignment, Map<Key, Derived>> derived = new IdentityHashMap<>();
  private Map<ClusterLoadAssignment, Map<Key, Derived>> previous = new IdentityHashMap<>();
  // Per shared translation (by identity) and caller: the localized resources; cleared on each change.
  private final Map<MeshResources, Map<Caller, MeshResources>> localized = new IdentityHashMap<>();
  private long built;

  /** Istio's meshConfig.localityLbSetting.enabled ({@code bin/keelson control --locality-lb}); on by default. */
  synchronized void meshEnabled(boolean enabled) {
    meshEnabled = enabled;
  }

  synchronized boolean meshEnabled() {
    return meshEnabled;
  }

  /** A change: the rules of {@code state}; derived assignments not reused since the previous change are dropped. */
  synchronized void begin(PolicySet state, Supplier<Collection<Policy.Workload>> workloads) {
    localized.clear();
    rulesByView.clear();
    current = state;
    previous = derived;
    derived = new IdentityHashMap<>();
    TreeSet<String> labels = new TreeSet<>();
    Map<String, Map<String, String>> byEndpoint = new HashMap<>();
    rules = rulesOf(state, labels, byEndpoint);
    // Every namespace's rules may be some client's (SourceViews): their failoverPriority labels are listed too.
    for (Policy.DestinationRule dr : state.ofType(Policy.DestinationRule.class)) {
      Rule rule = rule(dr, meshEnabled);
      if (rule != null) {
        priorityLabels(rule, labels);
      }
    }
    // A traffic distribution seen only by some namespace's view (its own ServiceEntry or Service) counts too.
    for (Policy.Service svc : state.ofType(Policy.Service.class)) {
      distributionLabels(svc.trafficDistribution(), labels);
    }
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      distributionLabels(se.trafficDistribution(), labels);
    }
    priorityLabels = List.copyOf(labels);
    if (!labels.isEmpty()) {
      for (Policy.Workload w : workloads.get()) { // listed only when a failoverPriority needs endpoint labels
        byEndpoint.put(w.address() + ":" + w.port(), w.labels());
      }
    } else {
      byEndpoint.clear();
    }
    labelsByEndpoint = byEndpoint;
  }

  /** The rules of the clusters {@code state} (one DestinationRule per host) translates to. */
  private Map<String, Rule> rulesOf(PolicySet state, TreeSet<String> labels,
      Map<String, Map<String, String>> byEndpoint) {
    Map<String, Rule> next = new HashMap<>();
    for (Policy.Service svc : state.ofType(Policy.Service.class)) {
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, svc.name());
      Rule rule = rule(dr, meshEnabled, svc.trafficDistribution());
      if (rule == null) {
        continue;
      }
      priorityLabels(rule, labels);
      next.put(svc.name(), rule);
      for (Policy.Subset s : dr == null ? List.<Policy.Subset>of() : dr.subsets()) {
        next.put(MeshTranslator.subsetCluster(svc.name(), s.name()), rule);
      }
    }
    entryRules(state, next, labels, byEndpoint);
    return Map.copyOf(next);
  }

  /** Adds the labels traffic {@code distribution} fails over by, if any, to {@code labels}. */
  private void distributionLabels(Policy.TrafficDistribution distribution, TreeSet<String> labels) {
    if (distribution != Policy.TrafficDistribution.ANY) {
      priorityLabels(rule(null, meshEnabled, distribution), labels);
    }
  }

  /** Adds the labels {@code rule}'s {@code failoverPriority} names to {@code labels}. */
  private static void priorityLabels(Rule rule, TreeSet<String> labels) {
    for (String entry : rule.setting().failoverPriority()) {
      labels.add(entry.contains("=") ? entry.substring(0, entry.indexOf('=')) : entry); // label=value: an override
    }
  }

  /**
   * The rules of ServiceEntry hosts' EDS clusters (resolution STATIC: per port and subset, each by its merged policy),
   * their {@code failoverPriority} labels, and their endpoints' labels (with their locality's topology labels).
   */
  private void entryRules(PolicySet state, Map<String, Rule> next, TreeSet<String> labels,
      Map<String, Map<String, String>> byEndpoint) {
    for (var e : io.keelson.control.store.ServiceEntries.byHost(state).entrySet()) {
      Policy.ServiceEntry se = e.getValue();
      if (se.resolution() != Policy.Resolution.STATIC) {
        continue; // DNS entries' endpoints are inline in their clusters, not EDS
      }
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, e.getKey());
      List<Policy.EntryEndpoint> endpoints = io.keelson.control.store.WorkloadEntries.endpoints(state, se);
      for (Policy.EntryPort port : se.ports()) {
        List<String> subsets = new ArrayList<>();
        subsets.add(null);
        (dr == null ? List.<Policy.Subset>of() : dr.subsets()).forEach(s -> subsets.add(s.name()));
        for (String subset : subsets) {
          Rule rule = rule(dr == null ? null : dr.forCluster(subset, port.number()), meshEnabled,
              se.trafficDistribution());
          if (rule != null) {
            next.put(ClusterNames.serviceEntryCluster(port.number(), subset, e.getKey()), rule);
            priorityLabels(rule, labels);
          }
        }
        for (Policy.EntryEndpoint ep : endpoints) {
          byEndpoint.put(ep.address() + ":" + ep.portFor(port), ep.locality().addTo(ep.labels()));
        }
      }
    }
  }

  /**
   * What {@code trafficDistribution: PreferClose} (or {@code PreferSameZone}) stands for, as istiod's
   * {@code GetLocalityLbSetting} builds it: failover by the caller's network ({@value Locality#NETWORK}: a label neither
   * side has tells no endpoint apart), then region, then zone, with or without outlierDetection.
   */
  static final Policy.LocalityLbSetting PREFER_CLOSE = new Policy.LocalityLbSetting(true, List.of(), List.of(),
      List.of(Locality.NETWORK, Locality.REGION, Locality.ZONE));

  /**
   * What {@code PreferSameNode} stands for, as istiod builds it: network, region, zone, subzone, then the node (its
   * label {@code kubernetes.io/hostname}: an endpoint's node, and the caller's from its metadata {@code NODE_NAME}).
   */
  static final Policy.LocalityLbSetting PREFER_SAME_NODE = new Policy.LocalityLbSetting(true, List.of(), List.of(),
      List.of(Locality.NETWORK, Locality.REGION, Locality.ZONE, Locality.SUBZONE, Locality.HOSTNAME));

  /** {@link #rule(Policy.DestinationRule, boolean, Policy.TrafficDistribution)} without a traffic distribution. */
  static Rule rule(Policy.DestinationRule dr, boolean meshEnabled) {
    return rule(dr, meshEnabled, Policy.TrafficDistribution.ANY);
  }

  /**
   * The locality rule of a destination: its DestinationRule's setting unless that says {@code enabled: false}, else
   * the setting its traffic {@code distribution} stands for ({@link #PREFER_CLOSE}, {@link #PREFER_SAME_NODE}), else
   * the mesh default when on (Istio's precedence); null when none applies, or the setting neither distributes nor
   * fails over (failover needs outlierDetection, as in Istio: without it Envoy would never leave priority 0; a traffic
   * distribution fails over without).
   */
  static Rule rule(Policy.DestinationRule dr, boolean meshEnabled, Policy.TrafficDistribution distribution) {
    if (distribution != Policy.TrafficDistribution.ANY && (dr == null || dr.localityLb() == null)) {
      return new Rule(distribution == Policy.TrafficDistribution.PREFER_SAME_NODE ? PREFER_SAME_NODE : PREFER_CLOSE,
          true);
    }
    Policy.LocalityLbSetting setting = dr != null && dr.localityLb() != null ? dr.localityLb()
        : meshEnabled ? Policy.LocalityLbSetting.MESH_DEFAULT : null;
    if (setting == null || setting.disabled()) {
      return null;
    }
    if (!setting.distribute().isEmpty()) {
      return new Rule(setting, false);
    }
    return dr != null && dr.outlierDetection() != null ? new Rule(setting, true) : null;
  }

  /**
   * As istiod: with {@code distribute} in {@code dr}'s locality rule, its weights are locality weights, which Envoy
   * reads only with {@code common_lb_config.locality_weighted_lb_config} set on the cluster.
   */
  static void weighLocalities(io.envoyproxy.envoy.config.cluster.v3.Cluster.Builder c, Policy.DestinationRule dr) {
    Rule locality = rule(dr, false);
    if (locality != null && !locality.setting().distribute().isEmpty()) {
      c.setCommonLbConfig(c.getCommonLbConfig().toBuilder().setLocalityWeightedLbConfig(
          io.envoyproxy.envoy.config.cluster.v3.Cluster.CommonLbConfig.LocalityWeightedLbConfig.getDefaultInstance()));
    }
  }

  /** The caller {@code locality} with {@code labels} is, for the current rules. */
  synchronized Caller caller(Locality locality, Map<String, String> labels) {
    if (priorityLabels.isEmpty()) {
      return new Caller(locality, Map.of(), false);
    }
    Map<String, String> own = new HashMap<>();
    Map<String, String> all = locality.addTo(labels);
    for (String l : priorityLabels) {
      if (all.containsKey(l)) {
        own.put(l, all.get(l));
      }
    }
    return new Caller(locality, Map.copyOf(own), !all.isEmpty());
  }

  /** {@code shared} as sent to {@code caller}: {@code shared} itself when no cluster of it has a rule. */
  synchronized MeshResources localize(MeshResources shared, Caller caller) {
    return localize(shared, caller, current);
  }

  /**
   * {@code shared}, translated from {@code view} (the state as the caller's signature sees it, one DestinationRule per
   * host), as sent to {@code caller}: the rules are {@code view}'s, so a client namespace's own DestinationRule decides
   * its failover.
   */
  synchronized MeshResources localize(MeshResources shared, Caller caller, PolicySet view) {
    ViewRules ruled = view == current || view == null ? new ViewRules(rules, Map.of())
        : rulesByView.computeIfAbsent(view, this::viewRules);
    if (ruled.rules().isEmpty()) {
      return shared;
    }
    return localized.computeIfAbsent(shared, k -> new HashMap<>()).computeIfAbsent(caller, c -> build(shared, c, ruled));
  }

  /** {@code view}'s rules, with the labels of its entries' endpoints that the shared ones lack or differ from. */
  private ViewRules viewRules(PolicySet view) {
    Map<String, Map<String, String>> byEndpoint = new HashMap<>();
    Map<String, Rule> ruled = rulesOf(view, new TreeSet<>(), byEndpoint);
    if (priorityLabels.isEmpty()) {
      return new ViewRules(ruled, Map.of()); // no failoverPriority: endpoint labels decide nothing
    }
    byEndpoint.entrySet().removeIf(e -> e.getValue().equals(labelsByEndpoint.get(e.getKey())));
    return new ViewRules(ruled, Map.copyOf(byEndpoint));
  }

  /** Derived assignments built (not reused) since start, for tests. */
  synchronized long built() {
    return built;
  }

  private MeshResources build(MeshResources shared, Caller caller, ViewRules view) {
    List<ClusterLoadAssignment> endpoints = new ArrayList<>(shared.endpoints());
    MessageDigest md = sha256();
    md.update(shared.endpointsVersion().getBytes(StandardCharsets.UTF_8));
    boolean changed = false;
    for (int i = 0; i < endpoints.size(); i++) {
      ClusterLoadAssignment base = endpoints.get(i);
      Rule rule = view.rules().get(base.getClusterName());
      if (rule == null) {
        continue;
      }
      Derived d = derive(base, rule, caller, view.labels());
      if (d.assignment() != base) {
        endpoints.set(i, d.assignment());
        md.update((i + ":").getBytes(StandardCharsets.UTF_8));
        md.update(d.digest());
        changed = true;
      }
    }
    return changed ? shared.withEndpoints(endpoints, HexFormat.of().formatHex(md.digest(), 0, 6)) : shared;
  }

  /**
   * {@code base} as {@code caller} gets it under {@code rule}, its endpoints' labels looked up in {@code own} first. Kept
   * per base instance: a base is one translation's, so of one view.
   */
  private Derived derive(ClusterLoadAssignment base, Rule rule, Caller caller, Map<String, Map<String, String>> own) {
    Map<Key, Derived> forBase = derived.get(base);
    if (forBase == null) {
      Map<Key, Derived> old = previous.remove(base);
      forBase = old != null ? old : new HashMap<>();
      derived.put(base, forBase);
    }
    return forBase.computeIfAbsent(new Key(rule, caller), k -> {
      ClusterLoadAssignment a = LocalityFailover.apply(base, rule.setting(), rule.failover(), caller.locality(),
          caller.labels(), caller.labeled(), lb -> labelsOf(lb, own));
      built++;
      return new Derived(a, a == base ? null : AssignmentCache.digest(a));
    });
  }

  private Map<String, String> labelsOf(LbEndpoint lb, Map<String, Map<String, String>> own) {
    var sa = lb.getEndpoint().getAddress().getSocketAddress();
    String key = sa.getAddress() + ":" + sa.getPortValue();
    Map<String, String> labels = own.get(key);
    return labels != null ? labels : labelsByEndpoint.getOrDefault(key, Map.of());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
