package io.keelson.dataplane.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/** Reads a SPIFFE identity off a certificate (the URI SAN), as RBAC's principal_name matches it. Stateless. */
public final class PeerIdentity {
  private static final int URI_SAN = 6;

  private PeerIdentity() {}

  /** The first {@code spiffe://} URI SAN of {@code cert}, or null. */
  public static String spiffeUri(X509Certificate cert) {
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names == null) {
        return null;
      }
      for (List<?> n : names) {
        if ((Integer) n.get(0) == URI_SAN && n.get(1) instanceof String s && s.startsWith(SpiffeId.SCHEME)) {
          return s;
        }
      }
      return null;
    } catch (CertificateParsingException e) {
      return null;
    }
  }
}
