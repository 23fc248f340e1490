package io.keelson.control.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/** PEM in and out for certificates and private keys (PKCS#8, SEC1 EC and PKCS#1 RSA). Stateless. */
public final class Pem {
  private Pem() {}

  /** Every certificate in {@code text}, in order; an empty list when there is none. */
  public static List<X509Certificate> certificates(String text) throws CertificateException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    Collection<? extends java.security.cert.Certificate> all =
        cf.generateCertificates(new java.io.ByteArrayInputStream(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    List<X509Certificate> out = new ArrayList<>();
    for (var c : all) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  /** The certificates of a PEM file; an IOException naming the file when it holds none or cannot be parsed. */
  public static List<X509Certificate> certificates(Path file) throws IOException {
    String text = Files.readString(file);
    try {
      List<X509Certificate> certs = certificates(text);
      if (certs.isEmpty()) {
        throw new IOException(file + ": no PEM certificate found; expected -----BEGIN CERTIFICATE-----");
      }
      return certs;
    } catch (CertificateException e) {
      throw new IOException(file + ": not a valid PEM certificate: " + e.getMessage(), e);
    }
  }

  /** The private key of a PEM file. */
  public static PrivateKey privateKey(Path file) throws IOException {
    try {
      return privateKey(Files.readString(file));
    } catch (IOException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  public static PrivateKey privateKey(String text) throws IOException {
    try (PEMParser parser = new PEMParser(new StringReader(text))) {
      Object o = parser.readObject();
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair kp) {
        return conv.getKeyPair(kp).getPrivate();
      }
      if (o instanceof PrivateKeyInfo info) {
        return conv.getPrivateKey(info);
      }
      throw new IOException(o == null ? "no PEM private key found; expected -----BEGIN PRIVATE KEY-----"
          : "expected an unencrypted private key, found " + o.getClass().getSimpleName());
    }
  }

  public static String encode(Object... objects) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (Object o : objects) {
        w.writeObject(o);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  public static String encode(List<X509Certificate> certs) {
    return encode(certs.toArray());
  }

  /** The private key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). */
  public static String encodeKey(KeyPair kp) {
    return encodeKey(kp.getPrivate());
  }

  public static String encodeKey(PrivateKey key) {
    return "-----BEGIN PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
  }
}
