package io.keelson.dataplane.tls;

import java.util.List;

/**
 * Envoy's DownstreamTlsContext, as material and parameters (not yet a context). Certificates and
 * keys may be files or in-memory PEM, so SDS can supply them. Immutable.
 *
 * @param certificateChain  the server certificate chain (leaf first)
 * @param privateKey        the server key (PKCS#8, or PKCS#1 RSA)
 * @param trustedCa         CAs that client certificates must chain to, or null (no client certificates asked)
 * @param requireClientCert reject clients without a certificate (require_client_certificate)
 * @param clientSans        SANs a client certificate must have one of (empty: any)
 * @param params            versions, ciphers, curves, ALPN
 */
public record DownstreamTlsConfig(
    PemSource certificateChain,
    PemSource privateKey,
    PemSource trustedCa,
    boolean requireClientCert,
    List<SanMatcher> clientSans,
    TlsParams params) {

  public DownstreamTlsConfig {
    clientSans = List.copyOf(clientSans);
  }
}
