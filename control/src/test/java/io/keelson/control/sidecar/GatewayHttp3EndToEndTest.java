package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.b64;
import static io.keelson.control.sidecar.IngressGatewayTest.curl;
import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static io.keelson.control.sidecar.IngressGatewayTest.mesh;
import static io.keelson.control.sidecar.IngressGatewayTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.H3Client;
import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.TestCa;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/3 at an ingress gateway from the control plane ({@code setQuicListeners}, what {@code bin/keelson control
 * --enable-quic-listeners} sets): the gateway's SIMPLE HTTPS server is served over QUIC on its port too, ngtcp2's
 * client reaches the mesh service through it (gateway, STRICT mTLS, the app's sidecar), curl over TCP HTTPS on the same
 * port still works and is told {@code alt-svc: h3=":PORT"}, the MUTUAL server's QUIC chain takes a client certificate
 * and refuses a client without one, and a rotated Secret reaches the QUIC chain's certificate
 * over SDS as it reaches the TCP chain's.
 */
class GatewayHttp3EndToEndTest {
  @TempDir
  Path dir;

  @Test
  void http3ToTheGatewaysHttpsPortReachesTheMeshAndTcpHttpsIsToldAboutIt() throws Exception {
    int http = freePort();
    int redirect = freePort();
    int https = freePort();
    int mutual = freePort();
    TestCa ca = new TestCa("shop-ca");
    TestCa.Leaf certA = ca.issue("secure.example.com", "secure.example.com");
    TestCa.Leaf certB = ca.issue("secure.example.com", "secure.example.com");
    TestCa.Leaf mtlsCert = ca.issue("mtls.example.com", "mtls.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    Path client = ca.issue("client").write(dir, "client");
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port(), Map.of("version", "v1"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.xds.setQuicListeners(true);
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http, redirect, https, mutual, certA, mtlsCert, ca, "v1"))
          .policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v1"));
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> gateway.server().listenerAddress("udp_127.0.0.1_" + https)
          != null);

      // HTTP/3 (ngtcp2) to the HTTPS port: the gateway, mTLS to the app's sidecar, the app
      Ngtcp2Client.Response h3 = Ngtcp2Client.getWithSni(https, "secure.example.com", "/items", dir);
      assertThat(h3.status()).as(h3.output()).isEqualTo(200);
      assertThat(h3.header("x-served-by")).isEqualTo("product-v1");
      assertThat(h3.header("alt-svc")).isEqualTo("h3=\":" + https + "\"; ma=86400");

      // TCP HTTPS on the same port still works, and advertises HTTP/3
      String resolve = "secure.example.com:" + https + ":127.0.0.1";
      var tcp = curl("--resolve", resolve, "--cacert", caFile.toString(), "https://secure.example.com:" + https + "/items");
      assertThat(tcp.exit()).as(tcp.err()).isZero();
      assertThat(tcp.out()).contains("x-served-by: product-v1").contains("alt-svc: h3=\":" + https + "\"; ma=86400");

      // MUTUAL over HTTP/3: the Secret's ca.crt verifies client certificates on the QUIC chain too
      Ngtcp2Client.Response withCert = Ngtcp2Client.getWithSni(mutual, "mtls.example.com", "/items", dir,
          "--cert=" + client, "--key=" + Ngtcp2Client.sec1Key(client.resolveSibling("client.key")));
      assertThat(withCert.status()).as(withCert.output()).isEqualTo(200);
      assertThat(withCert.header("x-served-by")).isEqualTo("product-v1");
      assertThat(Ngtcp2Client.getWithSni(mutual, "mtls.example.com", "/items", dir).status()).isEqualTo(-1);

      // the QUIC chain's certificate follows the Secret over SDS
      assertThat(quicSerial(https)).isEqualTo(certA.cert().getSerialNumber());
      cp.store.apply(PolicyParser.parse("secret.yaml", """
          apiVersion: v1
          kind: Secret
          metadata: { name: secure-cert, namespace: istio-system }
          type: kubernetes.io/tls
          data: { tls.crt: %s, tls.key: %s }
          """.formatted(b64(certB.certPem()), b64(certB.keyPem()))).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> quicSerial(https).equals(certB.cert().getSerialNumber()));
      assertThat(Ngtcp2Client.getWithSni(https, "secure.example.com", "/items", dir).header("x-served-by"))
          .isEqualTo("product-v1");
    }
  }

  /** The serial of the certificate a new QUIC connection with SNI secure.example.com is served. */
  private static BigInteger quicSerial(int port) throws Exception {
    try (H3Client c = new H3Client(port, "secure.example.com")) {
      assertThat(c.send("GET", "/items").get(30, TimeUnit.SECONDS).status())
          .isEqualTo(200);
      return c.peerCertificate().getSerialNumber();
    }
  }
}
