package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A DestinationRule's {@code trafficPolicy.loadBalancer.localityLbSetting} (Istio's LocalityLoadBalancerSetting),
 * validated as istiod validates it: {@code distribute} and {@code failover} are mutually exclusive; each
 * {@code distribute} entry's weights are 1-100 and sum to 100; locality rules are {@code region/zone/subzone} with at
 * most one {@code *}, as the last part; {@code failover} names two different regions; {@code failover} beside a
 * topology label in {@code failoverPriority} is refused. Stateless.
 */
final class LocalityLbParser {
  /** The labels that are locality itself: with {@code failover} they would contradict it (istiod refuses them). */
  private static final Set<String> TOPOLOGY_LABELS = Set.of(Locality.REGION, Locality.ZONE, Locality.SUBZONE,
      "topology.istio.io/network");

  private LocalityLbParser() {}

  /** The setting in {@code loadBalancer}, or null when absent; errors are reported against their field paths. */
  static Policy.LocalityLbSetting setting(Fields loadBalancer) {
    Fields s = loadBalancer.object("localityLbSetting", false);
    if (s == null) {
      return null;
    }
    s.allow("enabled", "distribute", "failover", "failoverPriority");
    Boolean enabled = s.has("enabled") ? s.bool("enabled") : null;
    List<Policy.LocalityLbSetting.Distribute> distribute = new ArrayList<>();
    Set<String> froms = new HashSet<>();
    for (Fields d : s.objects("distribute", false)) {
      d.allow("from", "to");
      String from = d.string("from", true);
      if (from != null && rule(d, "from", from) && !froms.add(from)) {
        d.error("from", "'" + from + "' is already the 'from' of another distribute entry");
      }
      if (!d.has("to")) {
        d.error("to", "is required: the localities to send traffic to and their weights (summing to 100)");
        continue;
      }
      Map<String, Integer> to = d.integerMap("to", 1, 100);
      int total = 0;
      for (var e : to.entrySet()) {
        rule(d, "to." + e.getKey(), e.getKey());
        total += e.getValue();
      }
      if (to.isEmpty()) {
        d.error("to", "must name at least one locality");
      } else if (total != 100) {
        d.error("to", "the weights sum to " + total + "; they must sum to 100");
      }
      if (from != null) {
        distribute.add(new Policy.LocalityLbSetting.Distribute(from, to));
      }
    }
    List<Policy.LocalityLbSetting.Failover> failover = new ArrayList<>();
    for (Fields f : s.objects("failover", false)) {
      f.allow("from", "to");
      String from = region(f, "from");
      String to = region(f, "to");
      if (from != null && to != null) {
        if (from.equals(to)) {
          f.error("to", "'" + to + "' is also 'from': failover must name two different regions");
        } else {
          failover.add(new Policy.LocalityLbSetting.Failover(from, to));
        }
      }
    }
    List<String> priority = s.strings("failoverPriority", false);
    for (int i = 0; i < priority.size(); i++) {
      String entry = priority.get(i);
      int eq = entry.indexOf('=');
      if (eq == 0 || eq == entry.length() - 1 || entry.indexOf('=', eq + 1) >= 0) {
        s.error("failoverPriority[" + i + "]", "'" + entry + "' is not a label: expected a label name, or label=value"
            + " to compare endpoints with that value instead of the caller's (e.g. topology.istio.io/network=net1)");
      }
    }
    if (s.has("distribute") && s.has("failover")) {
      s.error("distribute", "cannot be set together with failover (as in Istio): use one of them");
    }
    if (s.has("failover")) {
      for (int i = 0; i < priority.size(); i++) {
        String label = priority.get(i).contains("=") ? priority.get(i).substring(0, priority.get(i).indexOf('='))
            : priority.get(i);
        if (TOPOLOGY_LABELS.contains(label)) {
          s.error("failoverPriority[" + i + "]", "topology label '" + priority.get(i) + "' cannot be used together"
              + " with failover (as in Istio): failover already orders by locality");
        }
      }
    }
    return new Policy.LocalityLbSetting(enabled, distribute, failover, priority);
  }

  /**
   * Checks a locality rule: {@code region[/zone[/subzone]]}, parts not empty, {@code *} only as the whole last part.
   * Returns false (reported) when it is not one.
   */
  private static boolean rule(Fields f, String field, String rule) {
    String[] parts = rule.split("/", -1);
    boolean ok = parts.length <= 3;
    for (int i = 0; ok && i < parts.length; i++) {
      String p = parts[i];
      ok = p.equals("*") ? i == parts.length - 1 : !p.isEmpty() && p.matches("[A-Za-z0-9][-A-Za-z0-9_.]*");
    }
    if (!ok) {
      f.error(field, "'" + rule + "' is not a locality; expected region/zone/subzone (zone and subzone optional),"
          + " where a '*' may only be the last part, e.g. us-east1/us-east1-b/* or us-west1/*");
    }
    return ok;
  }

  private static String region(Fields f, String field) {
    String r = f.string(field, true);
    if (r == null) {
      return null;
    }
    if (r.contains("/") || r.contains("*") || !r.matches("[A-Za-z0-9][-A-Za-z0-9_.]*")) {
      f.error(field, "'" + r + "' is not a region: failover names whole regions (no '/' or '*'), e.g. us-east1");
      return null;
    }
    return r;
  }
}
