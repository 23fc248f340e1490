package io.keelson.dataplane.security;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where TLS contexts get the proxy's identity and trust bundle. Implementations swap both atomically
 * and call listeners after each swap; a TLS context reads {@link #current()} per handshake (see
 * {@link RotatingKeyManager}), so new handshakes use the new certificate while established
 * connections keep the session they negotiated. Thread-safe.
 */
public interface CertificateSource {
  /** The certificate to present now; never null once the source has been started. */
  WorkloadCertificate current();

  /** The roots to verify peers against (the mesh trust bundle). */
  List<X509Certificate> trustBundle();

  /** Called (on the rotating thread) after every swap of the certificate or the trust bundle. */
  void addListener(Consumer<CertificateSource> listener);
}
