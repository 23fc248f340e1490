package io.keelson.dataplane.security;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;

/**
 * Workload key generation and PKCS#10 certification requests (RFC 2986), hand-encoded in DER with JDK
 * crypto only. The data plane needs exactly one CSR shape (an ECDSA P-256 key, an empty subject, no
 * attributes: the CA takes the identity from the authenticated proxy, not from the request), which is
 * about forty bytes of fixed structure around the JDK's own SubjectPublicKeyInfo and signature
 * encodings; that does not justify putting BouncyCastle (8 MB) on every sidecar's class path.
 * Stateless and thread-safe.
 */
public final class CertificateRequests {
  // AlgorithmIdentifier { ecdsa-with-SHA256 (1.2.840.10045.4.3.2) } — no parameters (RFC 5758).
  private static final byte[] ECDSA_WITH_SHA256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d,
      0x04, 0x03, 0x02};

  private CertificateRequests() {}

  /** A fresh ECDSA P-256 key pair; the private half stays in this process. */
  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot generate P-256 keys", e);
    }
  }

  /**
   * The DER of a PKCS#10 request for {@code keys}, signed with its private key:
   * <pre>
   * CertificationRequest ::= SEQUENCE {
   *   certificationRequestInfo SEQUENCE { version INTEGER 0, subject Name (empty SEQUENCE),
   *                                       subjectPKInfo (the key's X.509 encoding), attributes [0] {} },
   *   signatureAlgorithm       AlgorithmIdentifier (ecdsa-with-SHA256),
   *   signature                BIT STRING (the JDK's DER ECDSA signature) }
   * </pre>
   */
  public static byte[] csr(KeyPair keys) {
    if (!(keys.getPublic() instanceof ECPublicKey)) {
      throw new IllegalArgumentException("only EC keys are supported, got " + keys.getPublic().getAlgorithm());
    }
    byte[] info = tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, new byte[] {0x30, 0x00}, keys.getPublic().getEncoded(),
        new byte[] {(byte) 0xa0, 0x00}));
    byte[] signature;
    try {
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(keys.getPrivate());
      s.update(info);
      signature = s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign the certification request", e);
    }
    byte[] bits = tlv(0x03, concat(new byte[] {0x00}, signature)); // no unused bits
    return tlv(0x30, concat(info, ECDSA_WITH_SHA256, bits));
  }

  /** {@link #csr} as PEM ({@code BEGIN CERTIFICATE REQUEST}), the form Istio's certificate service takes. */
  public static String csrPem(KeyPair keys) {
    return "-----BEGIN CERTIFICATE REQUEST-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(csr(keys))
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }

  /** The DER inside a PEM block of any label. */
  public static byte[] pemBody(String pem) {
    int begin = pem.indexOf("-----BEGIN ");
    int start = begin < 0 ? -1 : pem.indexOf('\n', begin);
    int end = pem.indexOf("-----END ");
    if (start < 0 || end < start) {
      throw new IllegalArgumentException("not a PEM block: expected -----BEGIN ...----- and -----END ...-----");
    }
    return Base64.getMimeDecoder().decode(pem.substring(start + 1, end));
  }

  static byte[] tlv(int tag, byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 4);
    out.write(tag);
    int n = value.length;
    if (n < 0x80) {
      out.write(n);
    } else if (n < 0x100) {
      out.write(0x81);
      out.write(n);
    } else if (n < 0x10000) {
      out.write(0x82);
      out.write(n >> 8);
      out.write(n);
    } else {
      throw new IllegalArgumentException("DER value of " + n + " bytes is larger than a CSR can be");
    }
    out.writeBytes(value);
    return out.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
