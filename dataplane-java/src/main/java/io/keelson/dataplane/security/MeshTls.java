package io.keelson.dataplane.security;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;

/**
 * Netty TLS contexts for mesh mTLS built on a {@link CertificateSource}: the key and chain come from
 * {@link RotatingKeyManager} and the peer check from {@link MeshTrustManager}, both read per
 * handshake, so a context is built once and survives every rotation. TLS 1.3 and 1.2. This is the
 * hook the TLS transport (issue 3) uses for sidecar-to-sidecar traffic. Stateless.
 */
public final class MeshTls {
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private MeshTls() {}

  /**
   * The inbound side. {@code requireClientCertificate}: STRICT (true) or PERMISSIVE-over-TLS (false,
   * a client certificate is verified when sent).
   */
  public static SslContext server(CertificateSource source, boolean requireClientCertificate, SslProvider provider)
      throws SSLException {
    return SslContextBuilder.forServer(new RotatingKeyManager(source))
        .trustManager(new MeshTrustManager(source, null))
        .clientAuth(requireClientCertificate ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL)
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .build();
  }

  /** The outbound side: presents this proxy's certificate and accepts only {@code expectedServer} identities. */
  public static SslContext client(CertificateSource source, Predicate<String> expectedServer, SslProvider provider)
      throws SSLException {
    return SslContextBuilder.forClient()
        .keyManager(new RotatingKeyManager(source))
        .trustManager(new MeshTrustManager(source, expectedServer))
        .sslProvider(provider)
        .protocols(PROTOCOLS)
        .endpointIdentificationAlgorithm(null)
        .build();
  }
}
