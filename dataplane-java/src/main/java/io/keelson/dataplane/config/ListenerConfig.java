package io.keelson.dataplane.config;

/**
 * One listening socket and what runs on it. Immutable.
 *
 * @param name    Envoy listener name
 * @param host    bind address (IP literal or host name)
 * @param port    bind port (0 = ephemeral, used by tests)
 * @param http    the HTTP connection manager on this listener's filter chain
 */
public record ListenerConfig(String name, String host, int port, HttpConnectionManagerConfig http) {}
