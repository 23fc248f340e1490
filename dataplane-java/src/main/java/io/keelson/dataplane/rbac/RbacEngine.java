package io.keelson.dataplane.rbac;

import java.util.List;

/**
 * One compiled {@code envoy.config.rbac.v3.RBAC}: an action and its policies (sorted by name, so the
 * reported policy is deterministic). A policy matches when any of its permissions and any of its
 * principals match. ALLOW: allowed iff a policy matches. DENY: denied iff a policy matches. LOG:
 * always allowed (the matched policy is still reported). Immutable and thread-safe; {@link #evaluate}
 * allocates nothing.
 */
public final class RbacEngine {
  public enum Action { ALLOW, DENY, LOG }

  /** A compiled policy: permissions OR-ed, principals OR-ed. */
  record Policy(String name, Matcher permissions, Matcher principals, RbacDecision onMatch) {}

  private final Action action;
  private final Policy[] policies;
  private final RbacDecision noMatch;

  RbacEngine(Action action, List<Policy> policies) {
    this.action = action;
    this.policies = policies.toArray(Policy[]::new);
    this.noMatch = action == Action.ALLOW ? RbacDecision.DENIED_NO_POLICY : RbacDecision.ALLOWED_NO_POLICY;
  }

  public Action action() {
    return action;
  }

  public List<String> policyNames() {
    return java.util.Arrays.stream(policies).map(Policy::name).toList();
  }

  public RbacDecision evaluate(RequestView v) {
    for (Policy p : policies) {
      if (p.permissions().matches(v) && p.principals().matches(v)) {
        return p.onMatch();
      }
    }
    return noMatch;
  }

  static RbacDecision onMatch(Action action, String name) {
    return new RbacDecision(action != Action.DENY, name);
  }
}
