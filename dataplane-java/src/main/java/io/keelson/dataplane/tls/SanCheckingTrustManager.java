package io.keelson.dataplane.tls;

import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * PKIX validation against a fixed set of CAs, then Envoy's SAN match on the leaf. No host-name
 * check (Envoy does not do one either: SAN matchers are the identity check). Thread-safe.
 */
final class SanCheckingTrustManager extends X509ExtendedTrustManager {
  /** The peer certificate chained to a trusted CA but none of its SANs matched. */
  static final class SanMismatchException extends CertificateException {
    SanMismatchException(String message) {
      super(message);
    }
  }

  private final X509ExtendedTrustManager pkix;
  private final List<SanMatcher> sans;

  SanCheckingTrustManager(X509Certificate[] cas, List<SanMatcher> sans) {
    this.sans = sans;
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      for (int i = 0; i < cas.length; i++) {
        ks.setCertificateEntry("ca" + i, cas[i]);
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(ks);
      X509ExtendedTrustManager found = null;
      for (TrustManager tm : f.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          found = x;
        }
      }
      this.pkix = found;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build a trust store", e);
    }
  }

  private void checkSans(X509Certificate[] chain) throws CertificateException {
    if (!SanMatcher.anyMatches(sans, chain[0])) {
      throw new SanMismatchException("peer certificate " + chain[0].getSubjectX500Principal().getName()
          + " has no subject alternative name matching " + sans);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    pkix.checkClientTrusted(chain, authType, (Socket) null);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    pkix.checkServerTrusted(chain, authType, (Socket) null);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    pkix.checkClientTrusted(chain, authType, (SSLEngine) null); // null engine: no endpoint identification
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    pkix.checkServerTrusted(chain, authType, (SSLEngine) null);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkClientTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
