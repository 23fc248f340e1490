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

    /** This action with another route timeout and retry policy (a request's timeout headers). */
    public Forward withTimeouts(Duration routeTimeout, RetryPolicy retries) {
      return new Forward(clusters, totalWeight, prefixRewrite, regexRewrite, hostRewrite, routeTimeout, retries,
          highPriority, hashPolicies, mirrors, upgrades);
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

  /**
   * Envoy's direct_response. {@code body} is the exact bytes sent (inline_bytes as given, inline_string
   * encoded as UTF-8 once, at config time); it may be empty and is never modified.
   */
  record DirectResponse(int status, byte[] body) implements RouteAction {
    public DirectResponse {
      body = body == null ? new byte[0] : body;
    }

    /** A text body, sent as its UTF-8 encoding. */
    public DirectResponse(int status, String body) {
      this(status, body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof DirectResponse d && d.status == status && java.util.Arrays.equals(d.body, body);
    }

    @Override
    public int hashCode() {
      return 31 * status + java.util.Arrays.hashCode(body);
    }

    @Override
    public String toString() {
      return "DirectResponse[status=" + status + ", body=" + body.length + " bytes]";
    }
  }

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
