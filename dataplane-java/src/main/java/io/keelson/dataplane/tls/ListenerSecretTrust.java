package io.keelson.dataplane.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Client certificate validation against an SDS validation-context secret ({@link ListenerSecret}, e.g. a gateway's
 * {@code kubernetes://<credential>-cacert}): the slot's current prebuilt PKIX trust manager (one volatile read per
 * handshake), then the listener's SAN matchers. Thread-safe.
 */
final class ListenerSecretTrust extends X509ExtendedTrustManager {
  private final ListenerSecret secret;
  private final List<SanMatcher> sans;

  ListenerSecretTrust(ListenerSecret secret, List<SanMatcher> sans) {
    this.secret = secret;
    this.sans = List.copyOf(sans);
  }

  private SanCheckingTrustManager trust() throws CertificateException {
    SanCheckingTrustManager t = secret.trust();
    if (t == null) {
      throw new CertificateException("SDS secret '" + secret.name() + "' holds no CA certificates");
    }
    return t;
  }

  private void checkSans(X509Certificate[] chain) throws CertificateException {
    if (!sans.isEmpty() && !SanMatcher.anyMatches(sans, chain[0])) {
      throw new SanCheckingTrustManager.SanMismatchException("peer certificate has no subject alternative name"
          + " matching " + sans);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    trust().checkClientTrusted(chain, authType, socket);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkClientTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkClientTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    trust().checkServerTrusted(chain, authType, socket);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkServerTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkServerTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    SanCheckingTrustManager t = secret.trust();
    return t == null ? new X509Certificate[0] : t.getAcceptedIssuers();
  }
}
