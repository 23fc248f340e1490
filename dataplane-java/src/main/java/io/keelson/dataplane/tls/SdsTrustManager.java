package io.keelson.dataplane.tls;

import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.MeshTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Validation against an SDS secret's CAs, then Envoy's SAN matchers on the leaf: the trust manager is read per
 * handshake from a supplier — the {@code ROOTCA} mesh trust bundle ({@link #mesh}: PKIX, dates, a SPIFFE URI SAN)
 * or a served validation-context secret's prebuilt PKIX trust manager ({@link #listenerSecret}, e.g. a gateway's
 * {@code kubernetes://<credential>-cacert}; one volatile read). Thread-safe.
 */
final class SdsTrustManager extends X509ExtendedTrustManager {
  private final Supplier<X509ExtendedTrustManager> current;
  private final String secretName;
  private final List<SanMatcher> sans;

  private SdsTrustManager(Supplier<X509ExtendedTrustManager> current, String secretName, List<SanMatcher> sans) {
    this.current = current;
    this.secretName = secretName;
    this.sans = List.copyOf(sans);
  }

  /** Over the proxy's own trust bundle (the client side checks the destination's expected SPIFFE ID). */
  static SdsTrustManager mesh(CertificateSource source, List<SanMatcher> sans) {
    MeshTrustManager mesh = new MeshTrustManager(source, null);
    return new SdsTrustManager(() -> mesh, "ROOTCA", sans);
  }

  /** Over a served validation-context secret's current CAs. */
  static SdsTrustManager listenerSecret(ListenerSecret secret, List<SanMatcher> sans) {
    return new SdsTrustManager(secret::trust, secret.name(), sans);
  }

  private X509ExtendedTrustManager trust() throws CertificateException {
    X509ExtendedTrustManager t = current.get();
    if (t == null) {
      throw new CertificateException("SDS secret '" + secretName + "' holds no CA certificates");
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
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    trust().checkServerTrusted(chain, authType, socket);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkClientTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    trust().checkServerTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkClientTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust().checkServerTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    X509ExtendedTrustManager t = current.get();
    return t == null ? new X509Certificate[0] : t.getAcceptedIssuers();
  }
}
