package io.keelson.control.xds;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * istiod's locality load balancing of one ClusterLoadAssignment for one calling proxy (Istio's
 * {@code ApplyLocalityLoadBalancer}): {@code distribute} sets the localities' weights for the caller's locality;
 * failover gives each locality a priority by how much of the caller's locality it shares (0 the same
 * region/zone/subzone, 1 region/zone, 2 region, 3 the rest; a {@code failover} pair sends a region's callers to the
 * named region before the others), after the {@code failoverPriority} labels (the endpoints sharing the caller's
 * values of more leading labels first). Priorities are then renumbered from 0 without a gap, as Envoy requires.
 * Pure functions; stateless.
 */
final class LocalityFailover {
  private LocalityFailover() {}

  /**
   * {@code base} (one LocalityLbEndpoints per locality, all at priority 0, see {@link AssignmentCache}) as sent to a
   * proxy in {@code caller} with {@code callerLabels}: {@code base} itself when nothing changes.
   *
   * @param callerLabels the caller's values of the {@code failoverPriority} labels
   * @param labeled      the caller has labels at all (its workload's or its locality's), any of them or not
   *                     {@code failoverPriority}'s: istiod splits by labels unless the proxy has none
   * @param failover   failover applies (the destination has outlierDetection, and locality load balancing is on)
   * @param labelsOf   an endpoint's workload labels (read only with {@code failoverPriority})
   */
  static ClusterLoadAssignment apply(ClusterLoadAssignment base, Policy.LocalityLbSetting setting, boolean failover,
      Locality caller, Map<String, String> callerLabels, boolean labeled,
      Function<LbEndpoint, Map<String, String>> labelsOf) {
    List<LocalityLbEndpoints> groups;
    if (!setting.distribute().isEmpty()) {
      groups = distribute(base.getEndpointsList(), setting.distribute(), caller);
    } else if (!failover) {
      return base;
    } else if (!setting.failoverPriority().isEmpty()) {
      groups = byLabels(base.getEndpointsList(), setting.failoverPriority(), callerLabels, labeled, labelsOf);
      if (!setting.failover().isEmpty()) {
        groups = byLocality(groups, caller, setting.failover());
      }
    } else {
      groups = byLocality(base.getEndpointsList(), caller, setting.failover());
    }
    ClusterLoadAssignment out = base.toBuilder().clearEndpoints().addAllEndpoints(groups).build();
    return out.equals(base) ? base : out;
  }

  /**
   * Istio's {@code applyLocalityWeights}: the first entry whose {@code from} matches the caller weighs each locality
   * matching a {@code to} rule (first rule wins) by that rule's weight, shared among the localities it matches in
   * proportion to their endpoints (rounded up); localities no rule matches are left out. Without a matching entry,
   * each locality weighs its endpoints' count (the cluster is locality-weighted: an unweighted locality takes nothing).
   */
  static List<LocalityLbEndpoints> distribute(List<LocalityLbEndpoints> groups,
      List<Policy.LocalityLbSetting.Distribute> distribute, Locality caller) {
    for (Policy.LocalityLbSetting.Distribute d : distribute) {
      if (!caller.matches(d.from())) {
        continue;
      }
      long[] weights = new long[groups.size()];
      boolean[] matched = new boolean[groups.size()];
      for (var to : d.to().entrySet()) {
        long total = 0;
        List<Integer> hits = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
          if (!matched[i] && Locality.of(groups.get(i).getLocality()).matches(to.getKey())) {
            matched[i] = true;
            hits.add(i);
            total += weightOf(groups.get(i));
          }
        }
        for (int i : hits) {
          weights[i] = (weightOf(groups.get(i)) * to.getValue() + total - 1) / total;
        }
      }
      List<LocalityLbEndpoints> out = new ArrayList<>();
      for (int i = 0; i < groups.size(); i++) {
        if (matched[i] && weights[i] > 0) {
          out.add(groups.get(i).toBuilder().setLoadBalancingWeight(UInt32Value.of((int) weights[i])).build());
        }
      }
      return out;
    }
    List<LocalityLbEndpoints> out = new ArrayList<>();
    for (LocalityLbEndpoints g : groups) {
      out.add(g.toBuilder().setLoadBalancingWeight(UInt32Value.of((int) weightOf(g))).build());
    }
    return out;
  }

  /**
   * Istio's {@code applyLocalityFailover}: each group's priority becomes {@code 5 * its priority + its locality's}
   * (so a label priority set before is kept first), where a group outside the caller's region goes after the
   * {@code failover} target region's when the caller's region has a failover pair; then renumbered from 0.
   */
  static List<LocalityLbEndpoints> byLocality(List<LocalityLbEndpoints> groups, Locality caller,
      List<Policy.LocalityLbSetting.Failover> failover) {
    int[] priorities = new int[groups.size()];
    for (int i = 0; i < groups.size(); i++) {
      Locality where = Locality.of(groups.get(i).getLocality());
      int p = caller.priorityOf(where);
      if (p == 3) {
        for (Policy.LocalityLbSetting.Failover f : failover) {
          if (f.from().equals(caller.region())) {
            if (!where.region().equals(f.to())) {
              p = 4;
            }
            break;
          }
        }
      }
      priorities[i] = groups.get(i).getPriority() * 5 + p;
    }
    return renumbered(groups, priorities);
  }

  /**
   * Istio's {@code applyFailoverPriorities}: each group is split by its endpoints' priority, 0 when they have the
   * caller's value of every label, else {@code n - j} for the first label {@code j} whose value differs (a label one
   * side lacks is the empty value: it differs from a value, and matches where neither has it, so the comparison goes on
   * to the next label); an entry {@code label=value} compares with that value instead of the caller's (Istio's
   * override). A split group's weight, when it has one, is its endpoints'. Nothing changes when the caller has no
   * labels at all ({@code labeled} false) and there is no override, as istiod.
   */
  static List<LocalityLbEndpoints> byLabels(List<LocalityLbEndpoints> groups, List<String> entries,
      Map<String, String> callerLabels, boolean labeled, Function<LbEndpoint, Map<String, String>> labelsOf) {
    List<String> labels = new ArrayList<>(entries.size());
    List<String> wanted = new ArrayList<>(entries.size());
    boolean overrides = false;
    for (String entry : entries) {
      int eq = entry.indexOf('=');
      labels.add(eq < 0 ? entry : entry.substring(0, eq));
      wanted.add(eq < 0 ? callerLabels.get(entry) : entry.substring(eq + 1));
      overrides |= eq >= 0;
    }
    if (!labeled && !overrides) {
      return groups;
    }
    List<LocalityLbEndpoints> split = new ArrayList<>();
    List<Integer> priorities = new ArrayList<>();
    for (LocalityLbEndpoints g : groups) {
      TreeMap<Integer, List<LbEndpoint>> byPriority = new TreeMap<>();
      for (LbEndpoint lb : g.getLbEndpointsList()) {
        Map<String, String> endpointLabels = labelsOf.apply(lb);
        int p = 0;
        for (int j = 0; j < labels.size(); j++) {
          // As istiod (Go's zero value): a label neither has matches, so a caller and endpoints without a subzone go on
          // to compare the labels after it (PreferSameNode's node)
          String want = wanted.get(j);
          if (!(want == null ? "" : want).equals(endpointLabels.getOrDefault(labels.get(j), ""))) {
            p = labels.size() - j;
            break;
          }
        }
        byPriority.computeIfAbsent(p, k -> new ArrayList<>()).add(lb);
      }
      for (var e : byPriority.entrySet()) {
        LocalityLbEndpoints.Builder b = g.toBuilder().clearLbEndpoints().addAllLbEndpoints(e.getValue())
            .setPriority(e.getKey());
        if (g.hasLoadBalancingWeight()) {
          b.setLoadBalancingWeight(UInt32Value.of(e.getValue().stream()
              .mapToInt(lb -> lb.hasLoadBalancingWeight() ? lb.getLoadBalancingWeight().getValue() : 1).sum()));
        }
        split.add(b.build());
        priorities.add(e.getKey());
      }
    }
    return renumbered(split, priorities.stream().mapToInt(Integer::intValue).toArray());
  }

  /** {@code groups} at {@code priorities} renumbered from 0 without a gap, in their order. */
  private static List<LocalityLbEndpoints> renumbered(List<LocalityLbEndpoints> groups, int[] priorities) {
    TreeSet<Integer> distinct = new TreeSet<>();
    for (int p : priorities) {
      distinct.add(p);
    }
    List<Integer> order = new ArrayList<>(distinct);
    List<LocalityLbEndpoints> out = new ArrayList<>(groups.size());
    for (int i = 0; i < groups.size(); i++) {
      int level = order.indexOf(priorities[i]);
      LocalityLbEndpoints g = groups.get(i);
      out.add(g.getPriority() == level ? g : g.toBuilder().setPriority(level).build());
    }
    return out;
  }

  /** A locality's weight: its own when set, else its endpoints' (a missing endpoint weight is 1). */
  private static long weightOf(LocalityLbEndpoints g) {
    if (g.hasLoadBalancingWeight()) {
      return g.getLoadBalancingWeight().getValue();
    }
    long sum = 0;
    for (LbEndpoint lb : g.getLbEndpointsList()) {
      sum += lb.hasLoadBalancingWeight() ? lb.getLoadBalancingWeight().getValue() : 1;
    }
    return sum;
  }
}
