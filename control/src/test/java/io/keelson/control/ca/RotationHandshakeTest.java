package io.keelson.control.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.dataplane.security.RotatingKeyManager;
import io.keelson.dataplane.security.SpiffeId;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/** Rotation seen from TLS: new handshakes get the new certificate, an established connection keeps working. */
class RotationHandshakeTest {
  @Test
  void aRotationChangesNewHandshakesWithoutDroppingEstablishedConnections() throws Exception {
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null));
    SpiffeId id = ca.identity("shop", "web");
    try (CertificateRotator rotator = new CertificateRotator((csr, ttl) -> ca.sign(CertificateRequests.pemBody(csr), id,
        ttl).stream().map(Pem::encode).toList(), null, 0.5, Clock.systemUTC()).start()) {
      SSLContext server = SSLContext.getInstance("TLSv1.3");
      server.init(new KeyManager[] {new RotatingKeyManager(rotator)}, null, null);
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("root", ca.roots().getFirst());
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(trust);
      SSLContext client = SSLContext.getInstance("TLSv1.3");
      client.init(null, tmf.getTrustManagers(), null);

      ExecutorService pool = Executors.newCachedThreadPool();
      try (SSLServerSocket ss = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 50,
          InetAddress.getLoopbackAddress())) {
        pool.execute(() -> {
          while (!ss.isClosed()) {
            try {
              var s = ss.accept();
              pool.execute(() -> echo(s));
            } catch (Exception e) {
              return;
            }
          }
        });
        SSLSocket first = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
            ss.getLocalPort());
        assertThat(roundTrip(first, 1)).isEqualTo(1);
        X509Certificate before = (X509Certificate) first.getSession().getPeerCertificates()[0];

        rotator.rotateNow();

        SSLSocket second = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
            ss.getLocalPort());
        assertThat(roundTrip(second, 2)).isEqualTo(2);
        X509Certificate after = (X509Certificate) second.getSession().getPeerCertificates()[0];
        assertThat(after).isEqualTo(rotator.current().leaf()).isNotEqualTo(before);
        assertThat(after.getPublicKey()).isNotEqualTo(before.getPublicKey());
        assertThat(roundTrip(first, 3)).as("the connection made before the rotation still works").isEqualTo(3);
        first.close();
        second.close();
      } finally {
        pool.shutdownNow();
      }
    }
  }

  private static int roundTrip(SSLSocket s, int v) throws Exception {
    new DataOutputStream(s.getOutputStream()).writeInt(v);
    return new DataInputStream(s.getInputStream()).readInt();
  }

  private static void echo(java.net.Socket s) {
    try (s) {
      DataInputStream in = new DataInputStream(s.getInputStream());
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      while (true) {
        out.writeInt(in.readInt());
        out.flush();
      }
    } catch (Exception e) {
      // closed
    }
  }
}
