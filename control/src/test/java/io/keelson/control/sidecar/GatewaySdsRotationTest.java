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
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.xds.ResourceType;
import io.keelson.dataplane.xds.XdsStats;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway's server certificate over SDS, istiod's way: the listener names
 * {@code kubernetes://istio-system/secure-cert}, the
 * control plane serves that secret to this gateway only, and a rotated Secret (same name, new certificate) reaches
 * it as an SDS update alone: new handshakes (a Java TLS client with SNI) get the new certificate, a keep-alive
 * connection opened before stays open and keeps serving, the LDS version and the proxy's snapshot do not change.
 * Who is served it: a sidecar asking gets nothing; a proxy with a join token of another namespace claiming the
 * gateway's labels gets nothing (its status says why); a stream on the plaintext port, or of another namespace's
 * token, reusing the gateway's node id is refused; a gateway of the Secret's namespace is served it.
 */
class GatewaySdsRotationTest {
  @TempDir
  Path dir;

  @Test
  void rotatedSecretReachesTheGatewayAsAnSdsUpdateOnlyAndOpenConnectionsStay() throws Exception {
    int http = freePort();
    int redirect = freePort();
    int https = freePort();
    int mutual = freePort();
    TestCa ca = new TestCa("shop-ca");
    TestCa.Leaf certA = ca.issue("secure.example.com", "secure.example.com");
    TestCa.Leaf certB = ca.issue("secure.example.com", "secure.example.com");
    assertThat(certA.cert().getSerialNumber()).isNotEqualTo(certB.cert().getSerialNumber());
    TestCa.Leaf mtlsCert = ca.issue("mtls.example.com", "mtls.example.com");
    Path caFile = ca.write(dir, "ca.pem");
    Path client = ca.issue("client").write(dir, "client");
    trusted = ca;
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar p1 = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", v1.port(), Map.of("version", "v1"));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", mesh(http, redirect, https, mutual, certA, mtlsCert, ca, "v1"))
          .policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> served(http, "shop.example.com", "").equals("product-v1"));

      // The listener names the secret; the certificate is nowhere in it.
      var listeners = cp.xds.resourcesFor(gateway.nodeId()).listeners();
      String lds = listeners.toString();
      assertThat(lds).contains("kubernetes://istio-system/secure-cert").contains("kubernetes://istio-system/mtls-cert-cacert")
          .doesNotContain("BEGIN");

      await().atMost(Duration.ofSeconds(10)).until(() -> serial(https).equals(certA.cert().getSerialNumber()));
      // MUTUAL over SDS: the CA secret verifies client certificates.
      String resolve = "mtls.example.com:" + mutual + ":127.0.0.1";
      String url = "https://mtls.example.com:" + mutual + "/items";
      var withCert = curl("--resolve", resolve, "--cacert", caFile.toString(), "--cert", client.toString(), "--key",
          client.resolveSibling("client.key").toString(), url);
      assertThat(withCert.exit()).as(withCert.err()).isZero();
      assertThat(withCert.out()).contains("x-served-by: product-v1");
      assertThat(curl("--resolve", resolve, "--cacert", caFile.toString(), url).out()).doesNotContain("x-served-by");

      try (SSLSocket kept = open(https)) {
        assertThat(peer(kept).getSerialNumber()).isEqualTo(certA.cert().getSerialNumber());
        assertThat(get(kept)).isEqualTo("product-v1");
        XdsStats before = gateway.xds().stats();
        var snapshot = gateway.server().snapshot();
        long pushes = cp.xds.pushes();

        // keelson apply of the changed Secret alone: same name, certificate B.
        cp.store.apply(PolicyParser.parse("secret.yaml", """
            apiVersion: v1
            kind: Secret
            metadata: { name: secure-cert, namespace: istio-system }
            type: kubernetes.io/tls
            data: { tls.crt: %s, tls.key: %s }
            """.formatted(b64(certB.certPem()), b64(certB.keyPem()))).policies(), false);
        await().atMost(Duration.ofSeconds(10)).until(() -> serial(https).equals(certB.cert().getSerialNumber()));

        XdsStats after = gateway.xds().stats();
        assertThat(after.accepted(ResourceType.SECRET)).isGreaterThan(before.accepted(ResourceType.SECRET));
        assertThat(after.versions().get(ResourceType.LISTENER)).as("no LDS push for a Secret change")
            .isEqualTo(before.versions().get(ResourceType.LISTENER));
        assertThat(after.accepted(ResourceType.LISTENER)).isEqualTo(before.accepted(ResourceType.LISTENER));
        assertThat(after.snapshotsPublished()).as("no new snapshot: the slot swapped under the listener")
            .isEqualTo(before.snapshotsPublished());
        assertThat(gateway.server().snapshot()).isSameAs(snapshot);
        assertThat(cp.xds.pushes()).isGreaterThan(pushes);
        // The connection opened before the rotation is still open and serving.
        assertThat(get(kept)).isEqualTo("product-v1");
        assertThat(peer(kept).getSerialNumber()).isEqualTo(certA.cert().getSerialNumber());
      }

      // The gateway's admin config_dump shows no key; the control plane's proxy-config neither.
      var api = java.net.http.HttpClient.newHttpClient();
      String keyLine = certB.keyPem().lines().skip(1).findFirst().orElseThrow();
      var admin = gateway.server().adminAddress();
      for (String u : List.of("http://127.0.0.1:" + admin.getPort() + "/config_dump",
          "http://127.0.0.1:" + cp.api.port() + "/v1/proxy-config/" + gateway.nodeId() + "/listeners")) {
        String body = api.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(u)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertThat(body).as(u).doesNotContain(keyLine).doesNotContain(b64(certB.keyPem()));
      }

      // A sidecar (not selected by the Gateway) is not served the gateway's secrets.
      assertThat(cp.xds.resourcesFor(p1.nodeId()).listeners().toString()).doesNotContain("kubernetes://");
      String secret = "kubernetes://istio-system/secure-cert";
      assertThat(sdsProbe(cp, "product", "probe~product", false, secret).names())
          .as("a sidecar asking for the gateway's secret gets nothing").isEmpty();
      // A join token of another namespace claiming the gateway's labels: its listeners name no secret of istio-system,
      // it is served none, and its status says why.
      Probe intruder = sdsProbe(cp, "product", "intruder", true, secret);
      assertThat(intruder.error()).isNull();
      assertThat(intruder.names()).as("another namespace's gateway asking for the secret gets nothing").isEmpty();
      assertThat(intruder.listeners()).as("its listeners").doesNotContain("kubernetes://istio-system/")
          .doesNotContain("BEGIN");
      assertThat(intruder.warnings()).anySatisfy(w -> assertThat(w).contains("Secret istio-system/secure-cert")
          .contains("join token is of namespace product"));
      // The plaintext port with the gateway's node id and nothing else (the cache is keyed by node id, so it would
      // watch the gateway's entry): refused, served nothing.
      Probe plaintext = sdsProbe(cp, null, gateway.nodeId(), false, secret);
      assertThat(plaintext.names()).as("a plaintext stream reusing the gateway's node id gets nothing").isEmpty();
      assertThat(plaintext.error()).as("refused").isNotNull();
      assertThat(plaintext.error().getMessage()).contains("PERMISSION_DENIED").contains("in use by an open stream");
      // Another namespace's token reusing the gateway's node id: refused too.
      assertThat(sdsProbe(cp, "product", gateway.nodeId(), true, secret).names()).isEmpty();
      assertThat(sdsProbe(cp, "istio-system", "probe~istio", true, secret).names())
          .as("the probe itself works: a gateway of the Secret's namespace is served it").containsExactly(secret);
      // The rightful gateway still serves the rotated certificate.
      assertThat(serial(https)).isEqualTo(certB.cert().getSerialNumber());
    }
  }

  private TestCa trusted;

  /** A TLS connection to the gateway with SNI secure.example.com, trusting only the test CA. */
  private SSLSocket open(int port) throws Exception {
    SSLSocket s = (SSLSocket) trusted.clientContext().getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName("secure.example.com")));
    p.setApplicationProtocols(new String[] {"http/1.1"});
    s.setSSLParameters(p);
    s.setSoTimeout(10_000);
    s.startHandshake();
    return s;
  }

  private static X509Certificate peer(SSLSocket s) throws Exception {
    return (X509Certificate) s.getSession().getPeerCertificates()[0];
  }

  /** One keep-alive request on {@code s}: x-served-by, or "status N". */
  private static String get(SSLSocket s) throws Exception {
    OutputStream out = s.getOutputStream();
    out.write("GET /items HTTP/1.1\r\nHost: secure.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    var in = s.getInputStream();
    String status = line(in);
    String served = null;
    int length = 0;
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      String lower = h.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith("x-served-by:")) {
        served = h.substring(12).trim();
      } else if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(h.substring(15).trim());
      }
    }
    in.readNBytes(length);
    return status.contains(" 200") ? served : "status " + status;
  }

  private static String line(java.io.InputStream in) throws java.io.IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new java.io.EOFException("connection closed after '" + b + "'");
      }
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  /** The serial of the certificate a new handshake gets. */
  private BigInteger serial(int port) throws Exception {
    try (SSLSocket s = open(port)) {
      return peer(s).getSerialNumber();
    } catch (java.io.IOException e) {
      return BigInteger.ZERO;
    }
  }

  /** What a probe stream saw: the secret names served, its listeners and status warnings (while open), its error. */
  record Probe(List<String> names, String listeners, List<String> warnings, Throwable error) {}

  /**
   * A probe ADS stream of node {@code nodeId} asking SDS for {@code name}, on the authenticated port with a join token
   * of {@code namespace}, or on the plaintext port when {@code namespace} is null; {@code gateway}: its metadata claims
   * to be an ingress gateway with labels {@code istio: ingressgateway}. Whatever arrives within 3 s.
   */
  private static Probe sdsProbe(ControlPlane cp, String namespace, String nodeId, boolean gateway, String name)
      throws Exception {
    io.grpc.ManagedChannel channel;
    if (namespace == null) {
      channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", cp.xds.port())
          .usePlaintext().build();
    } else {
      Path root = java.nio.file.Files.createTempFile("root", ".pem");
      java.nio.file.Files.writeString(root, io.keelson.control.ca.Pem.encode(cp.security.ca().roots().getFirst()));
      String token = cp.security.tokens().create(namespace, "probe", null).token();
      channel = new io.keelson.dataplane.security.ControlPlaneCredentials(root, token)
          .apply(io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
              cp.security.securePort().port())).build();
    }
    var names = new java.util.concurrent.CopyOnWriteArrayList<String>();
    var error = new java.util.concurrent.atomic.AtomicReference<Throwable>();
    var node = io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(nodeId).setCluster("probe");
    if (gateway) {
      node.setMetadata(com.google.protobuf.Struct.newBuilder()
          .putFields("keelson.io/gateway", com.google.protobuf.Value.newBuilder().setBoolValue(true).build())
          .putFields("keelson.io/gateway-address", com.google.protobuf.Value.newBuilder().setStringValue("127.0.0.1")
              .build())
          .putFields("keelson.io/labels", com.google.protobuf.Value.newBuilder().setStructValue(
              com.google.protobuf.Struct.newBuilder().putFields("istio",
                  com.google.protobuf.Value.newBuilder().setStringValue("ingressgateway").build())).build()));
    }
    try {
      var requests = io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.newStub(channel)
          .streamAggregatedResources(new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse r) {
              for (var any : r.getResourcesList()) {
                try {
                  names.add(any.unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class).getName());
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                  names.add("unreadable");
                }
              }
            }

            @Override
            public void onError(Throwable t) {
              error.set(t);
            }

            @Override
            public void onCompleted() {}
          });
      requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest.newBuilder().setNode(node)
          .setTypeUrl("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
          .addResourceNames(name).build());
      Thread.sleep(3000); // absence has no event to wait for: a bounded look
      String listeners = "";
      List<String> warnings = List.of();
      if (error.get() == null && !nodeId.equals("probe~product")) {
        var r = cp.xds.resourcesFor(nodeId);
        listeners = r == null ? "" : r.listeners().toString();
        warnings = cp.xds.status().stream().filter(st -> st.nodeId().equals(nodeId)).findFirst()
            .map(io.keelson.control.xds.ProxyStatus::warnings).orElse(List.of());
      }
      requests.onCompleted();
      return new Probe(List.copyOf(names), listeners, warnings, error.get());
    } finally {
      channel.shutdownNow();
    }
  }
}
