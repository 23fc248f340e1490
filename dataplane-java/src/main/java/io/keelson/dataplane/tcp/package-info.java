/**
 * L4 on the socket path: Envoy's {@code tcp_proxy} (weighted clusters, balanced endpoints, a byte
 * relay with backpressure, half-close and idle timeout), TLS passthrough routed by SNI, and the
 * relay the HTTP/1.1 proxy hands WebSocket connections to after a 101.
 */
package io.keelson.dataplane.tcp;
