package io.keelson.dataplane.filter;

/**
 * Envoy's per-request dynamic metadata as later filters read it: a value by filter namespace (e.g.
 * {@code envoy.filters.http.jwt_authn}, {@code istio_authn}) and key path. Values are what a JSON
 * parser yields: String, Boolean, Number, List or Map. Implementations are immutable.
 */
public interface DynamicMetadata {
  /** The value at {@code path} under {@code filter}, or null when absent. */
  Object value(String filter, String[] path);
}
