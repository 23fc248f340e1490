package io.keelson.control.security;

import java.util.Map;

/**
 * Which workloads an Istio security policy applies to: a policy in the root namespace without a
 * selector covers the mesh; in another namespace without a selector, that namespace; with a
 * selector, the workloads whose labels include it (in the policy's namespace, or in any namespace
 * for a root-namespace AuthorizationPolicy, as Istio does). Stateless.
 */
final class WorkloadSelector {
  private WorkloadSelector() {}

  static boolean labelsMatch(Map<String, String> selector, Map<String, String> labels) {
    return selector == null || io.keelson.control.policy.LabelSelector.includes(selector, labels);
  }
}
