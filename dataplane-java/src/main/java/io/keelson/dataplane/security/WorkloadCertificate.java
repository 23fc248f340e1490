package io.keelson.dataplane.security;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One generation of a workload identity: the locally generated private key and the chain the CA
 * returned for it (leaf first, intermediates after; the self-signed root is not part of it — peers
 * have it in their trust bundle). Immutable.
 */
public record WorkloadCertificate(PrivateKey key, List<X509Certificate> chain) {
  public WorkloadCertificate {
    Objects.requireNonNull(key, "key");
    chain = List.copyOf(chain);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("a workload certificate needs at least its leaf");
    }
  }

  public X509Certificate leaf() {
    return chain.getFirst();
  }

  public Instant notBefore() {
    return leaf().getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  public Duration lifetime() {
    return Duration.between(notBefore(), notAfter());
  }

  /** The SPIFFE URI SAN of the leaf, or null when it has none. */
  public String spiffeUri() {
    return PeerIdentity.spiffeUri(leaf());
  }
}
