/**
 * TLS for the socket path: Netty {@code SslContext}s built from Envoy's DownstreamTlsContext and
 * UpstreamTlsContext (netty-tcnative BoringSSL when it loads, JDK TLS otherwise), SAN checks,
 * handshake counters and the ALPN hook for HTTP/2.
 */
package io.keelson.dataplane.tls;
