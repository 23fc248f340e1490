package io.keelson.dataplane.tls;

import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.WorkloadCertificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Consumer;

/**
 * One SDS secret a listener's TLS context names (a gateway's {@code kubernetes://<credential>}): the last material
 * the control plane sent, certificate and key, or CAs with a trust manager built from them. Material is parsed and
 * checked off the event loop (on the xDS thread) and swapped in with one volatile write; a TLS context built on the
 * slot reads it per handshake ({@link io.keelson.dataplane.security.RotatingKeyManager}, {@link SdsTrustManager}),
 * so a rotation takes no new listener and open connections keep the session they negotiated. Thread-safe.
 */
public final class ListenerSecret implements CertificateSource {
  /** A certificate generation, or CAs and the trust manager over them; never both null once delivered. */
  record Material(WorkloadCertificate certificate, List<X509Certificate> cas, SanCheckingTrustManager trust) {}

  private final String name;
  private volatile Material material;
  /**
   * Server contexts verifying clients against this slot's CAs, held weakly (a replaced listener's context goes
   * with it): a CA change moves their session-id context so sessions verified against the old CAs cannot resume.
   */
  private final java.util.Set<io.netty.handler.ssl.SslContext> verifying =
      java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));

  /** Client contexts built on this slot, held weakly: a change forgets their sessions (no resumption on old material). */
  private final java.util.Set<io.netty.handler.ssl.SslContext> resuming =
      java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));

  ListenerSecret(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** True once material arrived. */
  public boolean delivered() {
    return material != null;
  }

  /**
   * Parses and checks {@code chain}/{@code key} (or {@code ca}) and swaps them in. Call off the event loop.
   *
   * @throws TlsConfigException naming the Secret's field when the PEM is unusable or the key does not match
   */
  void update(PemSource chain, PemSource key, PemSource ca) {
    set(parse(chain, key, ca));
  }

  /** Parses and checks material without swapping it in (see {@link ListenerSecrets#stage}). */
  static Material parse(PemSource chain, PemSource key, PemSource ca) {
    if (ca != null) {
      X509Certificate[] cas = PemMaterial.certificates(ca, "validation_context.trusted_ca");
      return new Material(null, List.of(cas), new SanCheckingTrustManager(cas, List.of()));
    }
    X509Certificate[] certs = PemMaterial.certificates(chain, "tls_certificate.certificate_chain");
    java.security.PrivateKey k = PemMaterial.privateKey(key, "tls_certificate.private_key");
    PemMaterial.checkKeyMatches(k, certs[0], "tls_certificate.private_key");
    return new Material(new WorkloadCertificate(k, List.of(certs)), null, null);
  }

  Material material() {
    return material;
  }

  /** Swaps {@code next} in (null: the slot was dropped, its key no longer referenced here). */
  void set(Material next) {
    material = next;
    synchronized (resuming) {
      resuming.forEach(SessionResumption::forgetAll);
    }
    if (next != null && next.cas() != null) {
      byte[] sid = sessionIdContext(next.cas());
      synchronized (verifying) {
        verifying.forEach(c -> SessionResumption.restrictTo(c, sid));
      }
    }
  }

  /**
   * Ties {@code context}'s resumable sessions to this slot's CAs from now on (Envoy ties the session-id context to
   * the validation config): after a rotation a session verified against the removed CAs does a full handshake.
   */
  void bindSessions(io.netty.handler.ssl.SslContext context) {
    verifying.add(context);
    Material m = material;
    if (m != null && m.cas() != null) {
      SessionResumption.restrictTo(context, sessionIdContext(m.cas()));
    }
  }

  /**
   * Forgets {@code context}'s cached client sessions whenever this slot changes: a resumed session would keep the
   * old client certificate (the server sees it again) or skip verifying the server against the new CAs.
   */
  void forgetSessionsOnChange(io.netty.handler.ssl.SslContext context) {
    resuming.add(context);
  }

  /** SHA-256 over the CAs' encodings: 32 bytes, the most a session-id context holds. */
  private static byte[] sessionIdContext(List<X509Certificate> cas) {
    try {
      java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
      for (X509Certificate c : cas) {
        d.update(c.getEncoded());
      }
      return d.digest();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 or a CA's encoding is unavailable", e);
    }
  }

  /** The trust manager over this secret's CAs, or null when it holds a certificate (or nothing yet). */
  SanCheckingTrustManager trust() {
    Material m = material;
    return m == null ? null : m.trust();
  }

  @Override
  public WorkloadCertificate current() {
    Material m = material;
    return m == null ? null : m.certificate();
  }

  @Override
  public List<X509Certificate> trustBundle() {
    Material m = material;
    return m == null || m.cas() == null ? List.of() : m.cas();
  }

  @Override
  public void addListener(Consumer<CertificateSource> listener) {
    // Contexts read the slot per handshake; a CA change reaches their sessions through bindSessions.
  }
}
