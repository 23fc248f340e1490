package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** What a matched route does: forward to a cluster, answer directly, or redirect. Immutable. */
public sealed interface RouteAction {

  /**
   * Envoy's RouteAction: one cluster, or weighted_clusters.
   *
   * @param clusters      one entry for {@code cluster}, several for {@code weighted_clusters}
   * @param totalWeight   sum of the weights (the pick is uniform over [0, totalWeight))
   * @param prefixRewrite replaces the matched path prefix, or null
   * @param regexRewrite  regex_rewrite: replaces every match in the path (the query kept), or null; never
   *                      set together with prefixRewrite
   * @param hostRewrite   host_rewrite_literal, or null
   * @param timeout       route timeout (Envoy default 15 s; ZERO disables)
   * @param retryPolicy   the route's retry_policy, else its virtual host's, else null (no retries)
   * @param highPriority  routing priority HIGH: the cluster's HIGH circuit-breaker thresholds apply
   * @param hashPolicies  hash_policy, in order (empty: requests carry no hash)
   * @param mirrors       request_mirror_policies (empty when none)
   * @param upgrades      route-level upgrade_configs: lower-case upgrade type to enabled, overriding the
   *                      connection manager's flag for that type; empty for none
   */
  record Forward(
      List<WeightedCluster> clusters,
      int totalWeight,
      String prefixRewrite,
      RegexRewrite regexRewrite,
      String hostRewrite,
      Duration timeout,
      RetryPolicy retryPolicy,
      boolean highPriority,
      List<HashPolicy> hashPolicies,
      List<MirrorPolicy> mirrors,
      Map<String, Boolean> upgrades) implements RouteAction {
    public Forward {
      clusters = List.copyOf(clusters);
      hashPolicies = hashPolicies == null ? List.of() : List.copyOf(hashPolicies);
      mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
      upgrades = upgrades == null ? Map.of() : Map.copyOf(upgrades);
    }

    /**
     * Everything to one cluster with its header mutations empty: no rewrites, no retries, default priority,
     * no hash policies, mirrors or route-level upgrades.
     */
    public static Forward toCluster(String cluster, Duration timeout) {
      return new Forward(List.of(new WeightedCluster(cluster, 1, HeaderMutations.NONE, HeaderMutations.NONE)), 1, null, null,
          null, timeout, null, false, List.of(), List.of(), Map.of());
    }
  }

  /** One member of weighted_clusters (or the single cluster with weight 1), with its own header mutations. */
  record WeightedCluster(String name, int weight, HeaderMutations requestHeaders, HeaderMutations responseHeaders) {}

  /** Envoy's direct_response. {@code body} may be empty. */
  record DirectResponse(int status, String body) implements RouteAction {}

  /**
   * Envoy's RedirectAction. Null fields keep the request's value.
   *
   * @param status        301, 302, 303, 307 or 308
   */
  record Redirect(
      String scheme,
      String host,
      int port,
      String path,
      String prefixRewrite,
      int status,
      boolean stripQuery) implements RouteAction {}
}
