/**
 * Counters recorded on the hot path without locks or allocation (striped {@link java.util.concurrent.atomic.LongAdder}s
 * resolved once per snapshot, not per request), and their Prometheus text rendering in Envoy's names.
 */
package io.keelson.dataplane.stats;
