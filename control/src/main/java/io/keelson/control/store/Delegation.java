package io.keelson.control.store;

import io.keelson.control.policy.ExportTo;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's VirtualService delegation, as istiod's {@code mergeHTTPRoutes}: a root's http rule with {@code delegate}
 * stands for the rules of the named delegate VirtualService (one without hosts), each under the conjunction of the
 * root rule's match and its own (one level deep). A child match must lie within the root's: a path under the root's
 * prefix (or its exact path), the same values for the headers, query parameters, method and source conditions both
 * name; otherwise the pair conflicts, which {@link #check} refuses (and translation, like istiod, leaves out). The
 * merged rule takes the root rule's rewrite, timeout, retries, fault, mirror, mirrors, corsPolicy and headers where the
 * child sets none (istiod's {@code mergeHTTPRoute}). Stateless.
 */
public final class Delegation {
  private Delegation() {}

  /** {@code r}'s rules as proxies get them: each delegating rule replaced by its delegate's rules, merged. */
  public static List<Policy.Rule> rules(PolicySet state, Policy.Routes r) {
    if (r.rules().stream().allMatch(rule -> rule.delegate() == null)) {
      return r.rules();
    }
    List<Policy.Rule> out = new ArrayList<>();
    for (Policy.Rule rule : r.rules()) {
      if (rule.delegate() == null) {
        out.add(rule);
        continue;
      }
      Policy.Routes child = child(state, rule.delegate());
      if (child == null || !child.services().isEmpty() || child == r) {
        continue; // refused by check(); a child deleted since is served by nothing, as istiod
      }
      for (Policy.Rule c : child.rules()) {
        Policy.Rule merged = merge(rule, c);
        if (merged != null && c.delegate() == null) {
          out.add(merged);
        }
      }
    }
    return out;
  }

  /**
   * {@code state} with each root's delegating rules whose delegate is not exported to the root's namespace left out, as
   * istiod's {@code mergeVirtualServicesIfNeeded} (a delegate's {@code exportTo}, else {@code defaults}: meshConfig's
   * {@code defaultVirtualServiceExportTo}, must hold {@code *} or the root's namespace); {@code state} itself when every
   * delegate is exported to its roots. Each left-out pair is added to {@code unexported} as a message naming the root,
   * the delegate and the namespace (the caller warns, once per change of the pair, and not from a dry run).
   */
  public static PolicySet withExportedDelegates(PolicySet state, List<String> defaults,
      java.util.Collection<String> unexported) {
    List<Policy> narrowed = new ArrayList<>();
    for (Policy.Routes root : state.ofType(Policy.Routes.class)) {
      if (!root.kind().equals("VirtualService")) {
        continue;
      }
      String namespace = root.meta().effectiveNamespace();
      List<Policy.Rule> kept = root.rules().stream().filter(rule -> {
        Policy.Routes child = rule.delegate() == null ? null : child(state, rule.delegate());
        boolean exported = child == null || ExportTo.visible(child.meta().exportTo(), defaults,
            child.meta().effectiveNamespace(), namespace);
        if (!exported) {
          unexported.add(root.meta().key() + ": its delegate VirtualService " + child.meta().key()
              + " is not exported to namespace " + namespace + "; its rule serves nothing (export the delegate there:"
              + " spec.exportTo)");
        }
        return exported;
      }).toList();
      if (kept.size() < root.rules().size()) {
        narrowed.add(new Policy.Routes(root.meta(), root.services(), root.hostnames(), kept, root.streams(),
            root.gateways()));
      }
    }
    return narrowed.isEmpty() ? state : state.with(narrowed);
  }

  /** Problems of {@code r} as a root (its delegates) and as a delegate (the roots that name it) under {@code state}. */
  static void check(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    if (!r.kind().equals("VirtualService")) {
      return;
    }
    String file = r.meta().file();
    String doc = r.meta().key();
    for (int i = 0; i < r.rules().size(); i++) {
      Policy.Rule rule = r.rules().get(i);
      if (rule.delegate() == null) {
        continue;
      }
      String at = "spec.http[" + i + "].delegate.name";
      Policy.Routes child = child(state, rule.delegate());
      if (child == r || rule.delegate().equals(ref(r))) {
        errors.add(new PolicyError(file, doc, at, "'" + rule.delegate() + "' is this VirtualService: a delegation cycle;"
            + " expected another VirtualService, one without hosts"));
      } else if (child == null) {
        errors.add(new PolicyError(file, doc, at, "no VirtualService '" + rule.delegate() + "'; expected the name of"
            + " a VirtualService without hosts (apply it first, or in the same set)"));
      } else if (!child.services().isEmpty()) {
        errors.add(new PolicyError(file, doc, at, "VirtualService '" + rule.delegate() + "' has hosts; a delegate"
            + " has none (Istio: only a VirtualService without hosts can be delegated to)"));
      } else {
        conflicts(rule, child, (j, reason) -> errors.add(new PolicyError(file, doc, at, "VirtualService '"
            + child.name() + "' http[" + j + "]: " + reason)));
      }
    }
    if (r.services().isEmpty()) { // a delegate: each root naming it must still merge
      for (Policy.Routes root : state.ofType(Policy.Routes.class)) {
        for (Policy.Rule rule : root.rules()) {
          if (root != r && ref(r).equals(rule.delegate()) && root.kind().equals("VirtualService")) {
            conflicts(rule, r, (j, reason) -> errors.add(new PolicyError(file, doc, "spec.http[" + j + "].match",
                reason + " (" + root.meta().key() + " delegates to this VirtualService)")));
          }
        }
      }
    }
  }

  private interface Conflict {
    void at(int childRule, String reason);
  }

  private static void conflicts(Policy.Rule root, Policy.Routes child, Conflict out) {
    for (int j = 0; j < child.rules().size(); j++) {
      String reason = conflict(root.matches(), child.rules().get(j).matches());
      if (reason != null) {
        out.at(j, reason);
      }
    }
  }

  /** How a delegate rule names VirtualService {@code r}: NAME, or NS/NAME outside namespace default (IstioParser). */
  private static String ref(Policy.Routes r) {
    return r.meta().key().substring(r.kind().length() + 1);
  }

  private static Policy.Routes child(PolicySet state, String name) {
    return state.get("VirtualService", name) instanceof Policy.Routes r ? r : null;
  }

  /** The child rule under the root's matches, or null when a pair of matches conflicts. */
  static Policy.Rule merge(Policy.Rule root, Policy.Rule child) {
    List<Policy.Match> matches;
    if (root.matches().isEmpty()) {
      matches = child.matches();
    } else if (child.matches().isEmpty()) {
      matches = root.matches();
    } else {
      matches = new ArrayList<>();
      for (Policy.Match r : root.matches()) {
        for (Policy.Match c : child.matches()) {
          Policy.Match m = merge(r, c);
          if (m == null) {
            return null;
          }
          matches.add(m);
        }
      }
    }
    // istiod's mergeHTTPRoute: each option the child leaves unset is the root rule's, whole (headers request and
    // response together; mirror and mirrors each on its own).
    boolean childHeaders = !child.requestHeaders().isEmpty() || !child.responseHeaders().isEmpty();
    return new Policy.Rule(root.name() + "/" + child.name(), matches, child.backends(), child.redirect(),
        or(child.rewrite(), root.rewrite()), childHeaders ? child.requestHeaders() : root.requestHeaders(),
        childHeaders ? child.responseHeaders() : root.responseHeaders(), or(child.timeout(), root.timeout()),
        or(child.retry(), root.retry()), mirrors(root.mirrors(), child.mirrors()), or(child.fault(), root.fault()),
        or(child.cors(), root.cors()), child.directResponse());
  }

  private static <T> T or(T child, T root) {
    return child != null ? child : root;
  }

  /**
   * The child's {@code mirror} (else the root's) and the child's {@code mirrors} (else the root's), as istiod; a child
   * {@code mirror} without {@code mirrorPercentage} takes the root's (istiod merges the two fields separately).
   */
  private static List<Policy.Mirror> mirrors(List<Policy.Mirror> root, List<Policy.Mirror> child) {
    List<Policy.Mirror> out = new ArrayList<>();
    for (boolean single : new boolean[] {true, false}) {
      List<Policy.Mirror> own = child.stream().filter(m -> (m.field() == null) == single).toList();
      List<Policy.Mirror> inherited = root.stream().filter(m -> (m.field() == null) == single).toList();
      if (own.isEmpty()) {
        out.addAll(inherited);
      } else if (single && !own.getFirst().percentageWritten() && !inherited.isEmpty()
          && inherited.getFirst().percentageWritten()) {
        Policy.Mirror m = own.getFirst();
        out.add(new Policy.Mirror(m.backend(), inherited.getFirst().perMillion(), m.field(), true));
      } else {
        out.addAll(own);
      }
    }
    return out;
  }

  /** Why some root and child match conflict, or null when every pair merges. */
  private static String conflict(List<Policy.Match> root, List<Policy.Match> child) {
    for (Policy.Match r : root) {
      for (Policy.Match c : child) {
        String why = why(r, c);
        if (why != null) {
          return why;
        }
      }
    }
    return null;
  }

  /** Both matches at once: the child's conditions, and the root's on what the child leaves open; null on a conflict. */
  private static Policy.Match merge(Policy.Match r, Policy.Match c) {
    if (why(r, c) != null) {
      return null;
    }
    boolean childPath = c.path() != null;
    Map<String, String> labels = new HashMap<>(r.scope().sourceLabels());
    labels.putAll(c.scope().sourceLabels());
    Policy.MatchScope scope = new Policy.MatchScope(
        c.scope().gateways().isEmpty() ? r.scope().gateways() : c.scope().gateways(), labels,
        c.scope().sourceNamespace() != null ? c.scope().sourceNamespace() : r.scope().sourceNamespace(),
        c.scope().port() != null ? c.scope().port() : r.scope().port());
    List<Policy.KeyMatch> without = new ArrayList<>(r.withoutHeaders());
    without.addAll(c.withoutHeaders());
    return new Policy.Match(childPath ? c.path() : r.path(), union(r.headers(), c.headers()),
        union(r.queryParams(), c.queryParams()), c.method() != null ? c.method() : r.method(), r.grpc() || c.grpc(),
        List.copyOf(without), childPath ? c.ignoreUriCase() : r.ignoreUriCase(), scope);
  }

  /** The child's key matches, and the root's for the keys the child does not name. */
  private static List<Policy.KeyMatch> union(List<Policy.KeyMatch> root, List<Policy.KeyMatch> child) {
    List<Policy.KeyMatch> out = new ArrayList<>(child);
    for (Policy.KeyMatch k : root) {
      if (child.stream().noneMatch(x -> x.name().equalsIgnoreCase(k.name()))) {
        out.add(k);
      }
    }
    return List.copyOf(out);
  }

  /** Why child match {@code c} does not lie within root match {@code r}, or null. */
  private static String why(Policy.Match r, Policy.Match c) {
    if (conflicts(r.path(), c.path())) {
      return "its uri " + show(c.path()) + " is not within the root's uri " + show(r.path());
    }
    for (Policy.KeyMatch rk : r.headers()) {
      for (Policy.KeyMatch ck : c.headers()) {
        if (rk.name().equalsIgnoreCase(ck.name()) && conflicts(rk.match(), ck.match())) {
          return "its header " + ck.name() + " " + show(ck.match()) + " is not within the root's " + show(rk.match());
        }
      }
    }
    for (Policy.KeyMatch rk : r.queryParams()) {
      for (Policy.KeyMatch ck : c.queryParams()) {
        if (rk.name().equals(ck.name()) && conflicts(rk.match(), ck.match())) {
          return "its query parameter " + ck.name() + " " + show(ck.match()) + " is not within the root's "
              + show(rk.match());
        }
      }
    }
    if (r.method() != null && c.method() != null && !r.method().equals(c.method())) {
      return "its method " + c.method() + " is not the root's " + r.method();
    }
    if (r.scope().port() != null && c.scope().port() != null && !r.scope().port().equals(c.scope().port())) {
      return "its port " + c.scope().port() + " is not the root's " + r.scope().port();
    }
    String rn = r.scope().sourceNamespace();
    String cn = c.scope().sourceNamespace();
    if (rn != null && cn != null && !rn.equals(cn)) {
      return "its sourceNamespace " + cn + " is not the root's " + rn;
    }
    for (var e : c.scope().sourceLabels().entrySet()) {
      String v = r.scope().sourceLabels().get(e.getKey());
      if (v != null && !v.equals(e.getValue())) {
        return "its sourceLabels " + e.getKey() + "=" + e.getValue() + " is not the root's " + e.getKey() + "=" + v;
      }
    }
    return null;
  }

  /** istiod's stringMatchConflict: the leaf must narrow the root (a regex on either side admits nothing else). */
  private static boolean conflicts(Policy.StringMatch root, Policy.StringMatch leaf) {
    if (root == null || leaf == null) {
      return false;
    }
    if (root.type() == Policy.MatchType.REGEX || leaf.type() == Policy.MatchType.REGEX) {
      return true;
    }
    if (root.type() == Policy.MatchType.EXACT) {
      return leaf.type() != Policy.MatchType.EXACT || !leaf.value().equals(root.value());
    }
    return !leaf.value().startsWith(root.value()); // root prefix: a prefix or exact under it
  }

  private static String show(Policy.StringMatch m) {
    return m == null ? "(any)" : m.type().name().toLowerCase() + " '" + m.value() + "'";
  }
}
