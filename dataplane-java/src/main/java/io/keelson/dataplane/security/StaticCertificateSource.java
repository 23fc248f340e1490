package io.keelson.dataplane.security;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Consumer;

/** A fixed certificate and trust bundle (files, tests). Immutable; listeners are never called. */
public record StaticCertificateSource(WorkloadCertificate current, List<X509Certificate> trustBundle)
    implements CertificateSource {
  public StaticCertificateSource {
    trustBundle = List.copyOf(trustBundle);
  }

  @Override
  public void addListener(Consumer<CertificateSource> listener) {
    // never changes
  }
}
