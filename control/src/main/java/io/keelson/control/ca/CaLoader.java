package io.keelson.control.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * Builds the {@link MeshCa} at start: loads and validates an operator-provided root or intermediate,
 * or loads (creating it the first time) a self-signed root persisted under the data directory. Every
 * problem is a {@link CaException} naming the file and what is wrong. Called once, on the starting thread.
 */
public final class CaLoader {
  static final String DIR = "ca";
  static final String CERT = "root-cert.pem";
  static final String KEY = "root-key.pem";
  /** A generated root lives ten years, as Istio's self-signed root does. */
  static final Duration ROOT_TTL = Duration.ofDays(3650);

  private CaLoader() {}

  public static MeshCa load(CaOptions o) throws CaException {
    return load(o, Clock.systemUTC());
  }

  public static MeshCa load(CaOptions o, Clock clock) throws CaException {
    if (o.certFile() != null || o.keyFile() != null) {
      if (o.certFile() == null || o.keyFile() == null) {
        throw new CaException("an operator-provided CA needs both --ca-cert and --ca-key");
      }
      return provided(o, clock);
    }
    return selfSigned(o, clock);
  }

  private static MeshCa provided(CaOptions o, Clock clock) throws CaException {
    List<X509Certificate> chain;
    PrivateKey key;
    try {
      chain = new ArrayList<>(Pem.certificates(o.certFile()));
      key = Pem.privateKey(o.keyFile());
      if (o.rootFile() != null) {
        for (X509Certificate r : Pem.certificates(o.rootFile())) {
          if (!chain.contains(r)) {
            chain.add(r);
          }
        }
      }
    } catch (IOException e) {
      throw new CaException("CA: " + e.getMessage(), e);
    }
    validate(chain, key, o, clock.instant());
    return new MeshCa(o.trustDomain(), key, chain, List.of(chain.getLast()), o.workloadTtl(), clock);
  }

  /** The chain must be CA certificates, each signed by the next, ending at a self-signed root, all valid now. */
  static void validate(List<X509Certificate> chain, PrivateKey key, CaOptions o, Instant now) throws CaException {
    X509Certificate ca = chain.getFirst();
    String name = o.certFile().toString();
    if (ca.getBasicConstraints() < 0) {
      throw new CaException("CA certificate " + name + " (" + ca.getSubjectX500Principal()
          + ") is not a CA: basicConstraints CA:TRUE is missing");
    }
    boolean[] usage = ca.getKeyUsage();
    if (usage != null && (usage.length < 6 || !usage[5])) {
      throw new CaException("CA certificate " + name + " may not sign certificates: keyUsage lacks keyCertSign");
    }
    if (!keyMatches(key, ca)) {
      throw new CaException("CA key " + o.keyFile() + " does not match the certificate " + name);
    }
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      if (now.isBefore(c.getNotBefore().toInstant()) || now.isAfter(c.getNotAfter().toInstant())) {
        throw new CaException("certificate " + c.getSubjectX500Principal() + " in " + name + " is not valid now (valid "
            + c.getNotBefore().toInstant() + " to " + c.getNotAfter().toInstant() + ")");
      }
      X509Certificate issuer = i + 1 < chain.size() ? chain.get(i + 1) : c;
      if (!c.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new CaException(i + 1 < chain.size()
            ? "chain in " + name + " is out of order: " + c.getSubjectX500Principal() + " is issued by "
                + c.getIssuerX500Principal() + ", not by the next certificate " + issuer.getSubjectX500Principal()
            : "chain in " + name + " does not reach a root: " + c.getSubjectX500Principal() + " is issued by "
                + c.getIssuerX500Principal() + "; append the issuers to the file or pass --ca-root");
      }
      try {
        c.verify(issuer.getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new CaException("certificate " + c.getSubjectX500Principal() + " in " + name
            + " does not verify with its issuer's key: " + e.getMessage());
      }
    }
  }

  private static boolean keyMatches(PrivateKey key, X509Certificate cert) {
    try {
      String jca = switch (key.getAlgorithm()) {
        case "EC" -> "SHA256withECDSA";
        case "RSA" -> "SHA256withRSA";
        default -> "Ed25519";
      };
      byte[] probe = "keelson key probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(jca);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(jca);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(sig);
    } catch (Exception e) {
      return false;
    }
  }

  private static MeshCa selfSigned(CaOptions o, Clock clock) throws CaException {
    Path dir = o.dataDir() == null ? null : o.dataDir().resolve(DIR);
    try {
      if (dir != null && Files.exists(dir.resolve(CERT))) {
        List<X509Certificate> certs = Pem.certificates(dir.resolve(CERT));
        PrivateKey key = Pem.privateKey(dir.resolve(KEY));
        CaOptions saved = new CaOptions(o.trustDomain(), o.workloadTtl(), dir.resolve(CERT), dir.resolve(KEY), null, null);
        validate(certs, key, saved, clock.instant());
        return new MeshCa(o.trustDomain(), key, certs, List.of(certs.getLast()), o.workloadTtl(), clock);
      }
      KeyPair kp = ecKeyPair();
      X509Certificate root = selfSignedRoot(kp, o.trustDomain(), clock.instant());
      if (dir != null) {
        Files.createDirectories(dir);
        writePrivate(dir.resolve(KEY), Pem.encodeKey(kp));
        Files.writeString(dir.resolve(CERT), Pem.encode(root));
      }
      return new MeshCa(o.trustDomain(), kp.getPrivate(), List.of(root), List.of(root), o.workloadTtl(), clock);
    } catch (IOException e) {
      throw new CaException("CA: cannot load or persist the self-signed root under " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void writePrivate(Path file, String pem) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, pem);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** A fresh ECDSA P-256 key pair. */
  public static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no P-256", e);
    }
  }

  /** A self-signed CA certificate for {@code trustDomain} (also used by tests to make foreign CAs). */
  public static X509Certificate selfSignedRoot(KeyPair kp, String trustDomain, Instant now) throws CaException {
    try {
      X500Name name = new X500Name("O=" + trustDomain + ",CN=Keelson mesh root");
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(128, new SecureRandom()),
          Date.from(now.minus(MeshCa.BACKDATE)), Date.from(now.plus(ROOT_TTL)), name, kp.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://" + trustDomain)));
      return new JcaX509CertificateConverter().getCertificate(b.build(MeshCa.signer(kp.getPrivate())));
    } catch (Exception e) {
      throw new CaException("cannot create a self-signed root: " + e.getMessage(), e);
    }
  }

  /** An intermediate CA certificate signed by {@code issuerKey} (operators and tests). */
  public static X509Certificate intermediate(KeyPair kp, X509Certificate issuer, PrivateKey issuerKey, String cn,
      Instant now, Duration ttl) throws CaException {
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(128, new SecureRandom()),
          Date.from(now.minus(MeshCa.BACKDATE)), Date.from(now.plus(ttl)), new X500Name("CN=" + cn), kp.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      return new JcaX509CertificateConverter().getCertificate(b.build(MeshCa.signer(issuerKey)));
    } catch (Exception e) {
      throw new CaException("cannot create an intermediate: " + e.getMessage(), e);
    }
  }
}
