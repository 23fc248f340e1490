package io.keelson.control.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateServiceClient;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A join token grants one namespace and service account: a CSR asking for another SPIFFE ID gets no
 * certificate, and a proxy announcing another identity on the secure xDS port is held to its token's.
 */
class IdentityBindingTest {
  static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
  static final String PRODUCT = "spiffe://cluster.local/ns/shop/sa/product";

  @TempDir
  Path dir;
  private ControlPlane cp;
  private Path root;

  @BeforeEach
  void start() throws Exception {
    cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), 0));
    root = Files.writeString(dir.resolve("root.pem"), Pem.encode(cp.security.ca().roots().getFirst()));
  }

  @AfterEach
  void stop() throws Exception {
    cp.close();
  }

  @Test
  void aTokenForOneServiceAccountGetsNoCertificateForAnother() throws Exception {
    String token = cp.security.tokens().create("shop", "web", null).token();
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", cp.security.securePort().port(),
        new ControlPlaneCredentials(root, token))) {
      assertThatThrownBy(() -> client.sign(csrFor(PRODUCT), null))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains(PRODUCT).contains(WEB);
          });
      assertThatThrownBy(() -> client.sign(csrFor("spiffe://cluster.local/ns/other/sa/web"), null))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      assertThat(cp.security.certificates().issued()).isZero();
      assertThat(cp.security.certificates().refused()).isEqualTo(2);

      // The token's own identity in the CSR, or no SAN at all (Keelson's proxies): a certificate for the token's identity.
      assertThat(uri(client.sign(csrFor(WEB), null))).isEqualTo(WEB);
      assertThat(uri(client.sign(CertificateRequests.csrPem(CertificateRequests.newKeyPair()), null))).isEqualTo(WEB);
      assertThat(cp.security.certificates().issued()).isEqualTo(2);
    }
  }

  @Test
  void aProxyAnnouncingAnotherIdentityOnTheSecurePortIsHeldToItsTokens() throws Exception {
    cp.store.apply(PolicyParser.parse("services.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service, namespace: shop }
        spec:
          ports: [ { name: http, port: 80 } ]
        """).policies(), false); // the tokens' namespace's: a sidecar registers to its own namespace's Service only
    String webToken = cp.security.tokens().create("shop", "web", null).token();
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.security.securePort().port(), "web", Map.of(), 1,
        0, 0, "127.0.0.1", 0);
    try (Sidecar web = Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
        new ControlPlaneCredentials(root, webToken))) {
      // A token for shop/other, registering product-service while claiming to be sa/product.
      String otherToken = cp.security.tokens().create("shop", "other", null).token();
      var node = SidecarBootstrap.withSpiffeId(new SidecarBootstrap("127.0.0.1", cp.security.securePort().port(),
          "product-service", Map.of(), 1, 0, 0, "127.0.0.1", 0).node(40000, 1).toBuilder().setId("liar").build(), PRODUCT);
      try (XdsClient liar = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.security.securePort().port(), false, node)
          .withCredentials(new ControlPlaneCredentials(root, otherToken)), s -> { })) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          var c = web.xds().lastSnapshot() == null ? null : web.xds().lastSnapshot().clusters().get("product-service.shop");
          return c != null && c.tls() != null;
        });
        String sans = web.xds().lastSnapshot().clusters().get("product-service.shop").tls().config().serverSans().toString();
        assertThat(sans).contains("spiffe://cluster.local/ns/shop/sa/other").doesNotContain(PRODUCT);
      }
    }
  }

  /** A PEM CSR whose extensionRequest asks for the URI SAN {@code uri} (what Istio's agents send). */
  static String csrFor(String uri) throws Exception {
    KeyPair kp = CertificateRequests.newKeyPair();
    ExtensionsGenerator ext = new ExtensionsGenerator();
    ext.addExtension(Extension.subjectAlternativeName, true,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
    var csr = new JcaPKCS10CertificationRequestBuilder(new X500Name(""), kp.getPublic())
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder().encodeToString(csr.getEncoded())
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }

  static String uri(List<String> chainPem) throws Exception {
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(chainPem.getFirst().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    return leaf.getSubjectAlternativeNames().stream().filter(n -> (Integer) n.get(0) == 6)
        .map(n -> (String) n.get(1)).findFirst().orElseThrow();
  }
}
