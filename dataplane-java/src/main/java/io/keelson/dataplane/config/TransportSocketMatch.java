package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ClientTls;

/**
 * One of a cluster's {@code transport_socket_matches}: the transport socket of the endpoints whose
 * {@code envoy.transport_socket_match} metadata it matched (the translator resolves each endpoint's match once, into
 * {@link EndpointConfig#transportSocket}). Immutable.
 *
 * @param name its name (Envoy's stats and config dumps name it so)
 * @param tls  TLS origination for those endpoints, or null for {@code raw_buffer} (plaintext)
 */
public record TransportSocketMatch(String name, ClientTls tls) {}
