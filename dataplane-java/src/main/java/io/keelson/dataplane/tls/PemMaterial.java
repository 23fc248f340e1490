package io.keelson.dataplane.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses PEM certificates and keys with clear errors, and checks a key belongs to its certificate. Stateless. */
final class PemMaterial {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");

  private PemMaterial() {}

  static X509Certificate[] certificates(PemSource source, String field) {
    String pem = source.read(field);
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      Matcher m = BLOCK.matcher(pem);
      while (m.find()) {
        if (m.group(1).equals("CERTIFICATE")) {
          byte[] der = Base64.getMimeDecoder().decode(m.group(2));
          out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
        }
      }
    } catch (CertificateException | IllegalArgumentException e) {
      throw new TlsConfigException(field, source.describe() + " holds a certificate that cannot be parsed: " + e.getMessage());
    }
    if (out.isEmpty()) {
      throw new TlsConfigException(field, source.describe()
          + " holds no PEM certificate; expected -----BEGIN CERTIFICATE----- blocks");
    }
    return out.toArray(new X509Certificate[0]);
  }

  static PrivateKey privateKey(PemSource source, String field) {
    String pem = source.read(field);
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      String type = m.group(1);
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw new TlsConfigException(field, source.describe() + " has bad base64 in its " + type + " block");
      }
      switch (type) {
        case "PRIVATE KEY" -> {
          return pkcs8(der, source, field);
        }
        case "RSA PRIVATE KEY" -> {
          return pkcs8(rsaPkcs1ToPkcs8(der), source, field);
        }
        case "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY" -> throw new TlsConfigException(field, source.describe()
            + " holds a " + type + "; expected an unencrypted PKCS#8 key (convert with: openssl pkcs8 -topk8 -nocrypt)");
        default -> {}
      }
    }
    throw new TlsConfigException(field, source.describe()
        + " holds no PEM private key; expected a -----BEGIN PRIVATE KEY----- block");
  }

  private static PrivateKey pkcs8(byte[] der, PemSource source, String field) {
    for (String alg : new String[] {"RSA", "EC", "Ed25519", "RSASSA-PSS"}) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new TlsConfigException(field, source.describe() + " holds a private key that cannot be parsed (not RSA, EC or Ed25519 PKCS#8)");
  }

  /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (version 0, rsaEncryption, NULL). */
  private static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
    byte[] algId = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    byte[] version = {0x02, 0x01, 0x00};
    byte[] octet = der(0x04, pkcs1);
    byte[] body = new byte[version.length + algId.length + octet.length];
    System.arraycopy(version, 0, body, 0, version.length);
    System.arraycopy(algId, 0, body, version.length, algId.length);
    System.arraycopy(octet, 0, body, version.length + algId.length, octet.length);
    return der(0x30, body);
  }

  private static byte[] der(int tag, byte[] content) {
    int n = content.length;
    byte[] len = n < 0x80 ? new byte[] {(byte) n}
        : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
        : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
        : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    byte[] out = new byte[1 + len.length + n];
    out[0] = (byte) tag;
    System.arraycopy(len, 0, out, 1, len.length);
    System.arraycopy(content, 0, out, 1 + len.length, n);
    return out;
  }

  /** Throws when {@code key} cannot sign something {@code cert}'s public key verifies. */
  static void checkKeyMatches(PrivateKey key, X509Certificate cert, String field) {
    byte[] probe = "keelson key check".getBytes(StandardCharsets.US_ASCII);
    String alg = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      case "RSASSA-PSS" -> null;
      default -> null;
    };
    if (alg == null) {
      return;
    }
    try {
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      if (v.verify(sig)) {
        return;
      }
    } catch (GeneralSecurityException e) {
      // falls through: a key of another type than the certificate's
    }
    throw new TlsConfigException(field, "the private key does not match the certificate "
        + cert.getSubjectX500Principal().getName());
  }
}
