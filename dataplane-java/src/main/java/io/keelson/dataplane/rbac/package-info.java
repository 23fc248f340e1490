/**
 * Envoy RBAC ({@code envoy.config.rbac.v3}): policies of permissions and principals compiled into a
 * tree of small matchers over a {@link io.keelson.dataplane.rbac.RequestView}, and the configs of the
 * {@code envoy.filters.http.rbac} and {@code envoy.filters.network.rbac} filters. Evaluation allocates
 * nothing: decisions are pre-built per policy.
 */
package io.keelson.dataplane.rbac;
