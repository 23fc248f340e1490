package io.keelson.dataplane.tls;

import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.MeshTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Validation against the {@code ROOTCA} SDS secret: the mesh trust bundle read per handshake
 * ({@link MeshTrustManager}: PKIX, dates, a SPIFFE URI SAN), then Envoy's SAN matchers on the leaf
 * (the destination's expected SPIFFE ID on the client side). Thread-safe.
 */
final class SdsTrustManager extends X509ExtendedTrustManager {
  private final MeshTrustManager mesh;
  private final List<SanMatcher> sans;

  SdsTrustManager(CertificateSource source, List<SanMatcher> sans) {
    this.mesh = new MeshTrustManager(source, null);
    this.sans = List.copyOf(sans);
  }

  private void checkSans(X509Certificate[] chain) throws CertificateException {
    if (!sans.isEmpty() && !SanMatcher.anyMatches(sans, chain[0])) {
      throw new SanCheckingTrustManager.SanMismatchException("peer certificate has no subject alternative name"
          + " matching " + sans);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    mesh.checkClientTrusted(chain, authType, socket);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    mesh.checkServerTrusted(chain, authType, socket);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    mesh.checkClientTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    mesh.checkServerTrusted(chain, authType, engine);
    checkSans(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    mesh.checkClientTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    mesh.checkServerTrusted(chain, authType);
    checkSans(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return mesh.getAcceptedIssuers();
  }
}
