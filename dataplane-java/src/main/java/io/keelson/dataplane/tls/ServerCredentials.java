package io.keelson.dataplane.tls;

import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;

/**
 * What a listener's server TLS context is built from, kept so a second kind of context (QUIC's, see
 * {@link QuicServerTls}) serves the same certificate and verifies clients the same way. Immutable.
 *
 * @param keys              the certificate and key per handshake (a fixed pair, or an SDS secret's current one)
 * @param clientTrust       verifies client certificates, or null when none are asked for
 * @param requireClientCert a client without a certificate is refused ({@code require_client_certificate})
 * @param clientCas         the SDS secret {@code clientTrust} reads its CAs from, or null: a context built on it
 *                          ties its session resumption to them ({@link ListenerSecret#bindSessions})
 */
public record ServerCredentials(KeyManager keys, TrustManager clientTrust, boolean requireClientCert,
    ListenerSecret clientCas) {

  public ServerCredentials(KeyManager keys, TrustManager clientTrust, boolean requireClientCert) {
    this(keys, clientTrust, requireClientCert, null);
  }

  /** A fixed certificate chain and key. */
  static ServerCredentials of(PrivateKey key, X509Certificate[] chain, TrustManager clientTrust, boolean require) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] password = new char[0];
      store.setKeyEntry("server", key, password, chain);
      KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, password);
      return new ServerCredentials(factory.getKeyManagers()[0], clientTrust, require);
    } catch (java.security.GeneralSecurityException | java.io.IOException e) {
      throw new TlsConfigException("common_tls_context.tls_certificates[0]", "cannot hold the key: " + e.getMessage());
    }
  }
}
