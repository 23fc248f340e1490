package io.keelson.dataplane.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a mesh peer: its chain must lead (PKIX, validity dates included) to a root of the
 * {@link CertificateSource}'s current trust bundle, read per handshake so bundle rotation needs no
 * new context; its leaf must carry a SPIFFE URI SAN accepted by {@code expectedIdentity} (e.g. the
 * destination service's SPIFFE ID on the client side, or any identity of the trust domain on the
 * server side, where RBAC decides). Host names are not checked: the SPIFFE ID replaces them.
 * Thread-safe.
 */
public final class MeshTrustManager extends X509ExtendedTrustManager {
  private final CertificateSource source;
  private final Predicate<String> expectedIdentity;

  /** @param expectedIdentity accepts the peer's SPIFFE URI; null = any peer the bundle trusts */
  public MeshTrustManager(CertificateSource source, Predicate<String> expectedIdentity) {
    this.source = source;
    this.expectedIdentity = expectedIdentity;
  }

  /** Accepts exactly these SPIFFE IDs. */
  public static Predicate<String> anyOf(String... spiffeUris) {
    Set<String> ok = new HashSet<>(Arrays.asList(spiffeUris));
    return ok::contains;
  }

  void verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the peer presented no certificate");
    }
    List<X509Certificate> roots = source.trustBundle();
    if (roots.isEmpty()) {
      throw new CertificateException("no mesh trust bundle yet: cannot verify the peer");
    }
    try {
      Set<TrustAnchor> anchors = new HashSet<>();
      for (X509Certificate r : roots) {
        anchors.add(new TrustAnchor(r, null));
      }
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      List<X509Certificate> path = Arrays.asList(chain);
      if (path.size() > 1 && roots.contains(path.getLast())) {
        path = path.subList(0, path.size() - 1);
      }
      CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path),
          params);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("the peer's certificate does not chain to the mesh trust bundle or is not"
          + " valid now: " + e.getMessage(), e);
    }
    String uri = PeerIdentity.spiffeUri(chain[0]);
    if (uri == null) {
      throw new CertificateException("the peer's certificate has no spiffe:// URI SAN");
    }
    if (expectedIdentity != null && !expectedIdentity.test(uri)) {
      throw new CertificateException("the peer is " + uri + ", not the expected identity");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    verify(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return source.trustBundle().toArray(X509Certificate[]::new);
  }
}
