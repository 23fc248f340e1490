package io.keelson.control.ca;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The trust bundle as an SDS {@code Secret}: a {@code validation_context} whose {@code trusted_ca} is
 * the PEM of the mesh roots, named {@value #NAME} as Istio names it. The workload certificate
 * ({@code default}) is not served over xDS: its key is made in the proxy, which builds that secret
 * itself from the chain the certificate service returns. Stateless.
 */
public final class TrustBundleSecret {
  public static final String NAME = "ROOTCA";

  private TrustBundleSecret() {}

  public static Secret of(List<X509Certificate> roots) {
    StringBuilder pem = new StringBuilder();
    for (X509Certificate r : roots) {
      pem.append(Pem.encode(r));
    }
    return Secret.newBuilder().setName(NAME)
        .setValidationContext(CertificateValidationContext.newBuilder()
            .setTrustedCa(DataSource.newBuilder().setInlineString(pem.toString())))
        .build();
  }
}
