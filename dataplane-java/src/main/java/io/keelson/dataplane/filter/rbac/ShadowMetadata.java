package io.keelson.dataplane.filter.rbac;

import io.keelson.dataplane.filter.DynamicMetadata;
import io.keelson.dataplane.rbac.RbacDecision;

/**
 * The RBAC filter's shadow result as Envoy publishes it under the {@code envoy.filters.http.rbac} namespace:
 * {@code <shadow_rules_stat_prefix>shadow_effective_policy_id} (the shadow policy that matched, absent when none)
 * and {@code <prefix>shadow_engine_result} ({@code allowed} / {@code denied}); every other lookup goes to the
 * metadata earlier filters left. Immutable; one per request of a filter with shadow rules.
 */
final class ShadowMetadata implements DynamicMetadata {
  static final String NAMESPACE = "envoy.filters.http.rbac";

  private final String prefix;
  private final RbacDecision shadow;
  private final DynamicMetadata earlier;

  ShadowMetadata(String prefix, RbacDecision shadow, DynamicMetadata earlier) {
    this.prefix = prefix;
    this.shadow = shadow;
    this.earlier = earlier;
  }

  @Override
  public Object value(String filter, String[] path) {
    if (NAMESPACE.equals(filter) && path.length == 1 && path[0].startsWith(prefix)) {
      String key = path[0].substring(prefix.length());
      if (key.equals("shadow_effective_policy_id")) {
        return shadow.policy();
      }
      if (key.equals("shadow_engine_result")) {
        return shadow.allowed() ? "allowed" : "denied";
      }
    }
    return earlier == null ? null : earlier.value(filter, path);
  }
}
