package io.keelson.dataplane.testing;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for tests (BouncyCastle): issues EC P-256 leaf certificates with
 * chosen SANs and validity, as PEM files or JDK SSLContexts. Thread-safe enough for one test class.
 */
public final class TestCa {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());
  public final X509Certificate cert;
  private final KeyPair keys;
  private final String name;

  /** A leaf certificate and its key. */
  public record Leaf(X509Certificate cert, PrivateKey key, TestCa issuer) {
    public String certPem() {
      return pem(cert);
    }

    public String keyPem() {
      try {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
          w.writeObject(new JcaPKCS8Generator(key, null));
        }
        return out.toString();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** Writes {@code <name>.crt} and {@code <name>.key} into {@code dir}; returns the cert path (key beside it). */
    public Path write(Path dir, String name) throws Exception {
      Files.writeString(dir.resolve(name + ".key"), keyPem());
      return Files.writeString(dir.resolve(name + ".crt"), certPem());
    }

    /** A client SSLContext presenting this certificate and trusting {@code trusted}. */
    public SSLContext clientContext(TestCa trusted) throws Exception {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("leaf", key, new char[0], new X509Certificate[] {cert});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(kmf.getKeyManagers(), trusted.trustManagers(), new SecureRandom());
      return c;
    }
  }

  public TestCa(String name) throws Exception {
    this.name = name;
    this.keys = ecKeys();
    Instant now = Instant.now();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + name),
        BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(30))), new X500Name("CN=" + name), keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    this.cert = sign(b, keys.getPrivate());
  }

  /** A leaf valid from an hour ago for 30 days with DNS SANs. */
  public Leaf issue(String cn, String... dnsSans) throws Exception {
    Instant now = Instant.now();
    return issue(cn, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)), dnsSans);
  }

  public Leaf issue(String cn, Instant notBefore, Instant notAfter, String... dnsSans) throws Exception {
    return issueSubject("CN=" + cn, notBefore, notAfter, dnsSans);
  }

  /** A leaf whose subject is {@code subjectDn} as given (e.g. "O=keelson": no CN at all). */
  public Leaf issueSubject(String subjectDn, Instant notBefore, Instant notAfter, String... dnsSans) throws Exception {
    KeyPair leafKeys = ecKeys();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + name),
        BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notAfter),
        new X500Name(subjectDn), leafKeys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    if (dnsSans.length > 0) {
      GeneralName[] names = new GeneralName[dnsSans.length];
      for (int i = 0; i < dnsSans.length; i++) {
        names[i] = dnsSans[i].startsWith("spiffe://") ? new GeneralName(GeneralName.uniformResourceIdentifier, dnsSans[i])
            : new GeneralName(GeneralName.dNSName, dnsSans[i]);
      }
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
    }
    return new Leaf(sign(b, keys.getPrivate()), leafKeys.getPrivate(), this);
  }

  public String certPem() {
    return pem(cert);
  }

  public Path write(Path dir, String file) throws Exception {
    return Files.writeString(dir.resolve(file), certPem());
  }

  public javax.net.ssl.TrustManager[] trustManagers() throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("ca", cert);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers();
  }

  /** A client SSLContext without a certificate that trusts this CA. */
  public SSLContext clientContext() throws Exception {
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(null, trustManagers(), new SecureRandom());
    return c;
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
  }

  static String pem(X509Certificate cert) {
    try {
      StringWriter out = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(out)) {
        w.writeObject(cert);
      }
      return out.toString();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
