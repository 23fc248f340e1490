package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ServerTls;
import java.util.List;

/**
 * One listening socket and what runs on it: exactly one of {@code http} and {@code tcpProxy} is
 * non-null. Immutable.
 *
 * @param name      Envoy listener name
 * @param host      bind address (IP literal or host name)
 * @param port      bind port (0 = ephemeral, used by tests)
 * @param http      the HTTP connection manager on this listener's filter chain, or null
 * @param tcpProxy  the TCP proxy on this listener's filter chain, or null; on an SNI-routed listener,
 *                  the first chain's (so code that knows only one chain still sees a TCP listener)
 * @param tls       TLS termination (the chain's transport_socket), or null for plaintext
 * @param sniChains filter chains selected by SNI (tls_inspector + filter_chain_match.server_names,
 *                  TLS passed through untouched); empty for a single-chain listener
 * @param plaintextToo with {@code tls}: a client that does not start with a TLS handshake is served in
 *                  plaintext on the same port (a {@code transport_protocol: tls} chain plus a plaintext
 *                  chain with the same filter; Istio's PERMISSIVE mTLS)
 * @param sniCertificates on an HTTP listener whose TLS chains are selected by SNI: the certificate per
 *                  server name (then {@code tls} is the first chain's, for code that knows one context);
 *                  empty otherwise
 */
public record ListenerConfig(
    String name, String host, int port, HttpConnectionManagerConfig http, TcpProxyConfig tcpProxy,
    ServerTls tls, List<SniChain> sniChains, boolean plaintextToo, List<SniCertificate> sniCertificates) {

  public ListenerConfig {
    sniChains = List.copyOf(sniChains);
    sniCertificates = List.copyOf(sniCertificates);
    if ((http == null) == (tcpProxy == null)) {
      throw new IllegalArgumentException(
          "listener '" + name + "' must have exactly one of http and tcpProxy");
    }
  }

  public boolean isHttp() {
    return http != null;
  }
}
