package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.telemetry.TelemetryResolver;
import io.keelson.dataplane.stats.IstioMetricsConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Telemetry {@code tagOverrides} merged down the levels one proxy gets (root namespace, its namespace, the document
 * selecting it or targeting its Gateway: {@link TelemetryResolver}) stay within the data plane's
 * {@value IstioMetricsConfig#MAX_EVALUATED} evaluated tag values per request, or the proxy would NACK its listeners.
 * Every document of a level counts (the first by name applies; another becomes first when it is deleted). Stateless.
 */
final class TelemetryTagLimit {
  private TelemetryTagLimit() {}

  /** Refuses {@code changed} when a combination of documents including it that can reach one proxy exceeds the limit. */
  static void check(PolicySet state, Policy.Telemetry changed, String rootNamespace, List<PolicyError> errors) {
    List<Policy.Telemetry> all = state.ofType(Policy.Telemetry.class).stream().filter(t -> !t.metrics().isEmpty())
        .toList();
    if (!all.contains(changed)) {
      return;
    }
    List<Policy.Telemetry> roots = new ArrayList<>();
    List<Policy.Telemetry> namespaces = new ArrayList<>();
    List<Policy.Telemetry> workloads = new ArrayList<>();
    for (Policy.Telemetry t : all) {
      if (!t.targetGateways().isEmpty() || t.selector() != null) {
        workloads.add(t);
      } else if (t.namespace().equals(rootNamespace)) {
        roots.add(t);
      } else {
        namespaces.add(t);
      }
    }
    for (Policy.Telemetry root : withNone(roots)) {
      for (Policy.Telemetry ns : withNone(namespaces)) {
        for (Policy.Telemetry workload : withNone(workloads)) {
          // A selector reaches its own namespace's proxies; a targetRef a Gateway's proxies in any namespace.
          if (ns != null && workload != null && workload.targetGateways().isEmpty()
              && !workload.namespace().equals(ns.namespace())) {
            continue;
          }
          List<Policy.Telemetry> levels = new ArrayList<>();
          for (Policy.Telemetry t : new Policy.Telemetry[] {root, ns, workload}) {
            if (t != null) {
              levels.add(t);
            }
          }
          int n = levels.contains(changed) ? TelemetryResolver.evaluatedTags(levels) : 0;
          if (n > IstioMetricsConfig.MAX_EVALUATED) {
            errors.add(new PolicyError(changed.meta().file(), changed.meta().key(), "spec.metrics", "with "
                + levels.stream().filter(t -> t != changed).map(t -> t.meta().key()).toList() + " one proxy evaluates "
                + n + " distinct tag values per request; at most " + IstioMetricsConfig.MAX_EVALUATED + " are"
                + " supported (the root, namespace and workload Telemetry's tagOverrides are merged); expected fewer"
                + " evaluated tagOverrides across them"));
            return;
          }
        }
      }
    }
  }

  private static List<Policy.Telemetry> withNone(List<Policy.Telemetry> level) {
    List<Policy.Telemetry> out = new ArrayList<>(level);
    out.add(null);
    return out;
  }
}
