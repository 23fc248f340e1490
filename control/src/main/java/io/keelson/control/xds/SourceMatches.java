package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code sourceLabels} and {@code sourceNamespace} matches (HTTP, and {@code tcp}/{@code tls} rules') resolved
 * for one calling proxy, as istiod does per proxy: a match whose source conditions the proxy's workload (labels,
 * namespace) does not meet is left out of the state, one it meets loses them (then it applies like any other), and a
 * rule whose every match was left out is left out. {@link #signature} names which such matches a proxy meets: proxies with the same signature see the same
 * {@link #view}, so translations are shared per signature, never served to a proxy of another one. A state without
 * such matches has the empty signature, and its view is the state itself. Stateless.
 */
final class SourceMatches {
  private SourceMatches() {}

  /** Which source-conditioned matches of {@code state} a proxy with {@code labels} in {@code namespace} meets ("" = none exist). */
  static String signature(PolicySet state, Map<String, String> labels, String namespace) {
    StringBuilder sig = new StringBuilder();
    for (Policy.Routes r : state.ofType(Policy.Routes.class)) {
      for (Policy.Rule rule : r.rules()) {
        for (Policy.Match m : rule.matches()) {
          if (m.scope().bySource()) {
            sig.append(m.scope().admitsSource(labels, namespace) ? '1' : '0');
          }
        }
      }
      for (Policy.StreamRule rule : r.streams()) {
        for (Policy.MatchScope s : rule.scopes()) {
          if (s.bySource()) {
            sig.append(s.admitsSource(labels, namespace) ? '1' : '0');
          }
        }
      }
    }
    return sig.toString();
  }

  /** {@code state} as a proxy with {@code labels} in {@code namespace} sees it; {@code state} itself when nothing depends on it. */
  static PolicySet view(PolicySet state, Map<String, String> labels, String namespace) {
    List<Policy> rewritten = new ArrayList<>();
    for (Policy.Routes r : state.ofType(Policy.Routes.class)) {
      if (!bySource(r)) {
        continue;
      }
      List<Policy.Rule> rules = new ArrayList<>();
      for (Policy.Rule rule : r.rules()) {
        Policy.Rule resolved = resolve(rule, labels, namespace);
        if (resolved != null) {
          rules.add(resolved);
        }
      }
      List<Policy.StreamRule> streams = new ArrayList<>();
      for (Policy.StreamRule rule : r.streams()) {
        Policy.StreamRule resolved = resolve(rule, labels, namespace);
        if (resolved != null) {
          streams.add(resolved);
        }
      }
      rewritten.add(new Policy.Routes(r.meta(), r.services(), r.hostnames(), rules, streams, r.gateways()));
    }
    return rewritten.isEmpty() ? state : state.with(rewritten);
  }

  /** True when a match of {@code r} (HTTP or stream) depends on the calling proxy's workload. */
  static boolean bySource(Policy.Routes r) {
    return r.rules().stream().flatMap(rule -> rule.matches().stream()).anyMatch(m -> m.scope().bySource())
        || r.streams().stream().anyMatch(Policy.StreamRule::bySource);
  }

  /** A stream rule with only the matches the proxy meets, their source conditions met; null when none is left. */
  private static Policy.StreamRule resolve(Policy.StreamRule rule, Map<String, String> labels, String namespace) {
    if (!rule.bySource()) {
      return rule;
    }
    List<Policy.MatchScope> kept = new ArrayList<>();
    for (Policy.MatchScope s : rule.scopes()) {
      if (!s.bySource()) {
        kept.add(s);
      } else if (s.admitsSource(labels, namespace)) {
        kept.add(new Policy.MatchScope(s.gateways(), Map.of(), null, s.port()));
      }
    }
    return kept.isEmpty() ? null : new Policy.StreamRule(rule.protocol(), rule.port(), rule.sniHosts(), rule.backends(),
        rule.field(), kept, rule.destinationSubnets());
  }

  /** {@code rule} with only the matches the proxy meets, their source conditions met; null when none is left. */
  private static Policy.Rule resolve(Policy.Rule rule, Map<String, String> labels, String namespace) {
    if (rule.matches().isEmpty()) {
      return rule;
    }
    List<Policy.Match> kept = new ArrayList<>();
    for (Policy.Match m : rule.matches()) {
      Policy.MatchScope s = m.scope();
      if (!s.bySource()) {
        kept.add(m);
      } else if (s.admitsSource(labels, namespace)) {
        kept.add(new Policy.Match(m.path(), m.headers(), m.queryParams(), m.method(), m.grpc(), m.withoutHeaders(),
            m.ignoreUriCase(), new Policy.MatchScope(s.gateways(), Map.of(), null, s.port())));
      }
    }
    if (kept.isEmpty()) {
      return null;
    }
    return new Policy.Rule(rule.name(), kept, rule.backends(), rule.redirect(), rule.rewrite(), rule.requestHeaders(),
        rule.responseHeaders(), rule.timeout(), rule.retry(), rule.mirrors(), rule.fault(), rule.cors(),
        rule.directResponse(), rule.delegate());
  }
}
