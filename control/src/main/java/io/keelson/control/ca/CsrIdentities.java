package io.keelson.control.ca;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The identities a PKCS#10 request asks for: the URI SANs of its {@code extensionRequest} attribute.
 * Stateless.
 */
final class CsrIdentities {
  private CsrIdentities() {}

  /**
   * The first URI SAN in the request that is not {@code expected}, or null when it asks for none or
   * only for {@code expected}. Malformed DER is left to the signer, which reports it.
   */
  static String otherThan(byte[] csrDer, String expected) {
    PKCS10CertificationRequest csr;
    try {
      csr = new PKCS10CertificationRequest(csrDer);
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
    for (Attribute a : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (var value : a.getAttrValues()) {
        GeneralNames names = GeneralNames.fromExtensions(Extensions.getInstance(value), Extension.subjectAlternativeName);
        if (names == null) {
          continue;
        }
        for (GeneralName n : names.getNames()) {
          if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
            String uri = n.getName().toString();
            if (!uri.equals(expected)) {
              return uri;
            }
          }
        }
      }
    }
    return null;
  }
}
