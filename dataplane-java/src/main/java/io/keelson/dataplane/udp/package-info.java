/**
 * Envoy's {@code envoy.filters.udp_listener.udp_proxy} on kernel sockets: UDP listeners whose datagrams are relayed per
 * downstream address (a session) over a connected UDP socket to one host of a cluster, and the replies sent back from
 * the listener's socket.
 */
package io.keelson.dataplane.udp;
