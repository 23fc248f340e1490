/**
 * Keelson's one config model: immutable snapshots translated from Envoy v3 protos. Both the static
 * bootstrap and (later) the xDS stream produce a {@link io.keelson.dataplane.config.ProxySnapshot};
 * a new snapshot is swapped in atomically and in-flight requests finish on the one they started with.
 */
package io.keelson.dataplane.config;
