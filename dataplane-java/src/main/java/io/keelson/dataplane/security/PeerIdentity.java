package io.keelson.dataplane.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Reads identities off a certificate (its URI SANs; the SPIFFE one as RBAC's principal_name matches it). Stateless. */
public final class PeerIdentity {
  private static final int URI_SAN = 6;

  private PeerIdentity() {}

  /** The first {@code spiffe://} URI SAN of {@code cert}, or null. */
  public static String spiffeUri(X509Certificate cert) {
    for (String uri : uriSans(cert)) {
      if (uri.startsWith(SpiffeId.SCHEME)) {
        return uri;
      }
    }
    return null;
  }

  /** Every URI SAN of {@code cert}, in order (Envoy's {@code %DOWNSTREAM_PEER_URI_SAN%} joins them with commas). */
  public static List<String> uriSans(X509Certificate cert) {
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names == null) {
        return List.of();
      }
      List<String> uris = new ArrayList<>(1);
      for (List<?> n : names) {
        if ((Integer) n.get(0) == URI_SAN && n.get(1) instanceof String s) {
          uris.add(s);
        }
      }
      return uris;
    } catch (CertificateParsingException e) {
      return List.of();
    }
  }
}
