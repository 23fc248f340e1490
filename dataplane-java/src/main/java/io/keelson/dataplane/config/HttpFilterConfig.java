package io.keelson.dataplane.config;

/**
 * One entry of the connection manager's http_filters (other than the router). Immutable.
 *
 * @param name     the filter's name, the key of typed_per_filter_config
 * @param typeName the full proto name of its typed_config, e.g. {@code envoy.extensions.filters.http.fault.v3.HTTPFault}
 * @param settings the filter's translated, immutable config record (its type belongs to the filter's package)
 */
public record HttpFilterConfig(String name, String typeName, Object settings) {}
