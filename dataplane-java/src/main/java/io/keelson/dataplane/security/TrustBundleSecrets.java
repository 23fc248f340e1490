package io.keelson.dataplane.security;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a trust bundle out of an SDS {@code Secret} ({@code validation_context.trusted_ca}, inline PEM).
 * Bad input is an IllegalArgumentException naming the field. Stateless.
 */
public final class TrustBundleSecrets {
  private TrustBundleSecrets() {}

  public static List<X509Certificate> roots(Secret secret) {
    if (!secret.hasValidationContext()) {
      throw new IllegalArgumentException("Secret '" + secret.getName()
          + "': expected validation_context (a trust bundle), found " + secret.getTypeCase());
    }
    DataSource ca = secret.getValidationContext().getTrustedCa();
    String pem = switch (ca.getSpecifierCase()) {
      case INLINE_STRING -> ca.getInlineString();
      case INLINE_BYTES -> ca.getInlineBytes().toString(StandardCharsets.US_ASCII);
      default -> throw new IllegalArgumentException("Secret '" + secret.getName()
          + "': validation_context.trusted_ca must be inline_string or inline_bytes, found " + ca.getSpecifierCase());
    };
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException("Secret '" + secret.getName()
            + "': validation_context.trusted_ca holds no PEM certificate");
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException("Secret '" + secret.getName()
          + "': validation_context.trusted_ca is not valid PEM: " + e.getMessage(), e);
    }
  }
}
