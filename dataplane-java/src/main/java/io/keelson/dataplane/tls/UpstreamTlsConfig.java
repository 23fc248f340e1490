package io.keelson.dataplane.tls;

import java.util.List;

/**
 * Envoy's UpstreamTlsContext, as material and parameters (not yet a context). Immutable.
 *
 * @param sni              server name sent in the ClientHello, or null for none
 * @param certificateChain client certificate chain, or null
 * @param privateKey       client key, or null
 * @param trustedCa        CAs the server certificate must chain to; null verifies nothing (as Envoy)
 * @param serverSans       SANs the server certificate must have one of (empty: any)
 * @param params           versions, ciphers, curves, ALPN
 */
public record UpstreamTlsConfig(
    String sni,
    PemSource certificateChain,
    PemSource privateKey,
    PemSource trustedCa,
    List<SanMatcher> serverSans,
    TlsParams params) {

  public UpstreamTlsConfig {
    serverSans = List.copyOf(serverSans);
  }
}
