/**
 * Transparent interception on the socket path, in Envoy's terms: the {@code envoy.filters.listener.original_dst}
 * listener filter (a redirected connection's original destination becomes its local address), the per-connection
 * selection of filter chains by {@code destination_port} and {@code prefix_ranges}, and the original destination an
 * {@code ORIGINAL_DST} cluster connects to.
 */
package io.keelson.dataplane.intercept;
