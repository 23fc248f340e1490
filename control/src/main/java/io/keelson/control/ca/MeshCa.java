package io.keelson.control.ca;

import io.keelson.dataplane.security.SpiffeId;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The mesh certificate authority: signs short-lived X.509 SVIDs whose only identity is the URI SAN
 * {@code spiffe://<trust-domain>/ns/<ns>/sa/<sa>}. The identity always comes from the caller (the
 * authenticated proxy), never from the request: a CSR is only trusted for its public key, after its
 * signature has been checked. Thread-safe (immutable; signing creates its own signer per call).
 */
public final class MeshCa {
  /** Istio's default workload certificate lifetime. */
  public static final Duration DEFAULT_WORKLOAD_TTL = Duration.ofHours(24);
  /** Tolerated clock skew: certificates are valid from a minute before issuance. */
  static final Duration BACKDATE = Duration.ofMinutes(1);

  private final String trustDomain;
  private final PrivateKey signingKey;
  private final List<X509Certificate> chain; // signing cert first, root last
  private final List<X509Certificate> roots;
  private final Duration defaultTtl;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param chain the signing certificate first, then its issuers up to and including the root
   * @param roots the trust bundle handed to proxies (the chain's root, plus any others being rotated in)
   */
  MeshCa(String trustDomain, PrivateKey signingKey, List<X509Certificate> chain, List<X509Certificate> roots,
      Duration defaultTtl, Clock clock) {
    new SpiffeId(trustDomain, "x", "x"); // validates the trust domain
    if (defaultTtl.isNegative() || defaultTtl.isZero()) {
      throw new IllegalArgumentException("workload certificate TTL " + defaultTtl + " must be positive");
    }
    this.trustDomain = trustDomain;
    this.signingKey = signingKey;
    this.chain = List.copyOf(chain);
    this.roots = List.copyOf(roots);
    this.defaultTtl = defaultTtl;
    this.clock = clock;
  }

  /** The same CA reading another clock (tests issue already-expired certificates with it). */
  MeshCa withClock(Clock other) {
    return new MeshCa(trustDomain, signingKey, chain, roots, defaultTtl, other);
  }

  public String trustDomain() {
    return trustDomain;
  }

  public Duration defaultTtl() {
    return defaultTtl;
  }

  /** The certificate this CA signs with (a root or an intermediate). */
  public X509Certificate signingCertificate() {
    return chain.getFirst();
  }

  /** The trust bundle: the root certificates proxies verify peers against. */
  public List<X509Certificate> roots() {
    return roots;
  }

  /** The SPIFFE ID of a workload in this trust domain. */
  public SpiffeId identity(String namespace, String serviceAccount) {
    return new SpiffeId(trustDomain, namespace, serviceAccount);
  }

  /**
   * Signs a PKCS#10 request (DER) for {@code id}. The request's signature must verify with its own
   * public key (proof the caller holds the private key); its subject and any SAN it asks for are ignored.
   *
   * @param ttl requested lifetime, or null for the default; capped by the default and by the CA's own expiry
   * @return the leaf first, then the CA chain up to the root (the shape of Istio's CreateCertificate answer)
   */
  public List<X509Certificate> sign(byte[] csrDer, SpiffeId id, Duration ttl) throws CaException {
    return sign(csrDer, id, ttl, List.of());
  }

  /** {@link #sign(byte[], SpiffeId, Duration)} with DNS/IP SANs chosen by the caller (the control plane's own certificate). */
  public List<X509Certificate> sign(byte[] csrDer, SpiffeId id, Duration ttl, List<String> hostNames)
      throws CaException {
    PublicKey key;
    try {
      JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(csrDer);
      key = csr.getPublicKey();
      if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
        throw new CaException("the certificate signing request's signature does not verify with its public key");
      }
    } catch (CaException e) {
      throw e;
    } catch (PKCSException | OperatorCreationException | GeneralSecurityException | RuntimeException e) {
      throw new CaException("the certificate signing request is not a valid PKCS#10 request: " + e.getMessage());
    } catch (java.io.IOException e) {
      throw new CaException("the certificate signing request is not a valid PKCS#10 request (bad DER): " + e.getMessage());
    }
    return issue(key, id, ttl == null ? defaultTtl : ttl, hostNames);
  }

  /**
   * Issues a certificate for {@code key} with the URI SAN {@code id} and the given DNS/IP names (the
   * control plane's own serving certificate). Leaf first, then the chain up to the root.
   */
  public List<X509Certificate> issue(PublicKey key, SpiffeId id, Duration ttl, List<String> hostNames)
      throws CaException {
    if (!id.trustDomain().equals(trustDomain)) {
      throw new CaException("identity " + id + " is outside this CA's trust domain " + trustDomain);
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new CaException("requested lifetime " + ttl + " must be positive");
    }
    Duration lifetime = ttl.compareTo(defaultTtl) > 0 ? defaultTtl : ttl;
    Instant now = clock.instant();
    Instant notAfter = now.plus(lifetime);
    Instant caExpiry = signingCertificate().getNotAfter().toInstant();
    if (notAfter.isAfter(caExpiry)) {
      notAfter = caExpiry;
    }
    if (!notAfter.isAfter(now)) {
      throw new CaException("the CA certificate expired at " + caExpiry + "; it cannot issue certificates");
    }
    try {
      X509Certificate issuer = signingCertificate();
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(128, random).setBit(127),
          Date.from(now.minus(BACKDATE)), Date.from(notAfter), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), key);
      List<GeneralName> names = new ArrayList<>();
      names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.uri()));
      for (String h : hostNames) {
        names.add(io.keelson.control.policy.IpLiteral.is(h) ? new GeneralName(GeneralName.iPAddress, h)
            : new GeneralName(GeneralName.dNSName, h));
      }
      // Empty subject: RFC 5280 then requires the SAN to be critical.
      b.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(names.toArray(GeneralName[]::new)));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
      X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(b.build(signer(signingKey)));
      List<X509Certificate> out = new ArrayList<>(chain.size() + 1);
      out.add(leaf);
      out.addAll(chain);
      return out;
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new CaException("cannot sign the certificate for " + id + ": " + e.getMessage());
    }
  }

  static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
    String alg = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new OperatorCreationException("unsupported CA key algorithm " + key.getAlgorithm()
          + "; expected EC, RSA or Ed25519");
    };
    return new JcaContentSignerBuilder(alg).build(key);
  }
}
