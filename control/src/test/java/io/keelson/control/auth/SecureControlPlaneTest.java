package io.keelson.control.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.control.ca.TrustBundleSecret;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.dataplane.security.CertificateServiceClient;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.security.PeerIdentity;
import io.keelson.dataplane.security.WorkloadCertificate;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane's secure port against the data plane's clients: join tokens gate both xDS and
 * certificates, the CSR exchange yields a SPIFFE SVID for the token's identity, SDS carries the trust bundle.
 */
class SecureControlPlaneTest {
  @TempDir
  Path dir;
  private ControlPlane cp;
  private Path root;

  @BeforeEach
  void start() throws Exception {
    cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, dir.resolve("data"), 15001,
        CaOptions.selfSigned(dir.resolve("data")), 0));
    root = Files.writeString(dir.resolve("root.pem"), http("GET", "/v1/ca/root", null));
  }

  @AfterEach
  void stop() throws Exception {
    cp.close();
  }

  private String http(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.api.port() + path));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body();
  }

  private String createToken(String ns, String sa) throws Exception {
    String json = http("POST", "/v1/tokens", "{\"namespace\":\"" + ns + "\",\"serviceAccount\":\"" + sa + "\"}");
    return (String) new com.fasterxml.jackson.databind.ObjectMapper().readValue(json, java.util.Map.class).get("token");
  }

  private int securePort() {
    return cp.security.securePort().port();
  }

  @Test
  void aProxyWithAValidTokenGetsAnSvidForTheTokensIdentityOverTls() throws Exception {
    String token = createToken("shop", "web");
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", securePort(),
        new ControlPlaneCredentials(root, token));
        CertificateRotator rotator = new CertificateRotator(client).start()) {
      WorkloadCertificate c = rotator.current();
      assertThat(c.spiffeUri()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
      assertThat(rotator.trustBundle()).containsExactlyElementsOf(cp.security.ca().roots());
      c.leaf().verify(cp.security.ca().roots().getFirst().getPublicKey());
      assertThat(cp.security.certificates().issued()).isEqualTo(1);
    }
  }

  @Test
  void aProxyWithoutAValidTokenGetsNoCertificate() throws Exception {
    String token = createToken("shop", "web");
    String id = token.split("\\.")[1];
    http("DELETE", "/v1/tokens/" + id, null);
    for (String bad : new String[] {null, "kjt.nope.nope", token}) {
      try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", securePort(),
          new ControlPlaneCredentials(root, bad))) {
        assertThatThrownBy(() -> client.sign(io.keelson.dataplane.security.CertificateRequests.csrPem(
            io.keelson.dataplane.security.CertificateRequests.newKeyPair()), null))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
      }
    }
    assertThat(cp.security.certificates().issued()).isZero();
    assertThat(cp.security.auth().rejected()).isEqualTo(3);
  }

  @Test
  void aProxyWithoutATokenGetsNoConfigurationAndAProxyWithOneGetsTheTrustBundleOverSds() throws Exception {
    String token = createToken("shop", "web");
    Result without = ads(new ControlPlaneCredentials(root, null));
    await().atMost(Duration.ofSeconds(10)).until(() -> without.error.get() != null);
    assertThat(Status.fromThrowable(without.error.get()).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(without.responses).isEmpty();

    Result with = ads(new ControlPlaneCredentials(root, token));
    await().atMost(Duration.ofSeconds(10)).until(() -> !with.responses.isEmpty());
    Secret s = with.responses.getFirst().getResources(0).unpack(Secret.class);
    assertThat(s.getName()).isEqualTo(TrustBundleSecret.NAME);
    List<X509Certificate> roots = Pem.certificates(s.getValidationContext().getTrustedCa().getInlineString());
    assertThat(roots).containsExactlyElementsOf(cp.security.ca().roots());
    with.channel.shutdownNow();
    without.channel.shutdownNow();
  }

  @Test
  void aProxyThatDoesNotTrustTheMeshRootRefusesTheControlPlane() throws Exception {
    String token = createToken("shop", "web");
    Path foreign = Files.writeString(dir.resolve("foreign.pem"), Pem.encode(
        io.keelson.control.ca.CaLoader.load(CaOptions.selfSigned(null)).roots().getFirst()));
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", securePort(),
        new ControlPlaneCredentials(foreign, token))) {
      assertThatThrownBy(() -> client.sign(io.keelson.dataplane.security.CertificateRequests.csrPem(
          io.keelson.dataplane.security.CertificateRequests.newKeyPair()), null))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }
    assertThat(cp.security.certificates().issued()).isZero();
  }

  @Test
  void theControlPlanesServingCertificateCarriesItsOwnSpiffeId() {
    X509Certificate leaf = cp.security.identity().current().leaf();
    assertThat(PeerIdentity.spiffeUri(leaf)).isEqualTo("spiffe://cluster.local/ns/keelson-system/sa/keelson-control");
  }

  @Test
  void theRotatorReplacesTheCertificateAtTheConfiguredFractionOfItsLifetime() throws Exception {
    String token = createToken("shop", "web");
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", securePort(),
        new ControlPlaneCredentials(root, token));
        CertificateRotator rotator = new CertificateRotator(client, Duration.ofSeconds(4), 0.5, Clock.systemUTC())) {
      List<WorkloadCertificate> seen = new CopyOnWriteArrayList<>();
      rotator.addListener(s -> seen.add(s.current()));
      rotator.start();
      WorkloadCertificate first = rotator.current();
      assertThat(rotator.nextRotation()).isBefore(first.notAfter());
      await().atMost(Duration.ofSeconds(20)).until(() -> rotator.rotations() >= 3);
      assertThat(seen).doesNotHaveDuplicates();
      assertThat(seen.get(1).key()).isNotEqualTo(first.key());
      assertThat(seen.get(1).spiffeUri()).isEqualTo(first.spiffeUri());
      assertThat(rotator.failures()).isZero();
    }
  }

  @Test
  void aWorkloadIdentityGetsItsCertificateByCsrAndFollowsTheTrustBundleOverSds() throws Exception {
    String token = createToken("shop", "web");
    try (io.keelson.dataplane.security.WorkloadIdentity identity = io.keelson.dataplane.security.WorkloadIdentity.start(
        "127.0.0.1", securePort(), new ControlPlaneCredentials(root, token), "web-1", null, 0.5)) {
      assertThat(identity.source().current().spiffeUri()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
      await().atMost(Duration.ofSeconds(10)).until(() -> identity.sds().accepted() >= 1);
      assertThat(identity.source().trustBundle()).containsExactlyElementsOf(cp.security.ca().roots());
    }
    assertThatThrownBy(() -> io.keelson.dataplane.security.WorkloadIdentity.start("127.0.0.1", securePort(),
        new ControlPlaneCredentials(root, "kjt.bad.token"), "intruder", null, 0.5))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  private record Result(ManagedChannel channel, List<DiscoveryResponse> responses, AtomicReference<Throwable> error) {}

  private Result ads(ControlPlaneCredentials creds) {
    ManagedChannel ch = creds.apply(NettyChannelBuilder.forAddress("127.0.0.1", securePort())).build();
    List<DiscoveryResponse> responses = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    StreamObserver<DiscoveryRequest> req = AggregatedDiscoveryServiceGrpc.newStub(ch).streamAggregatedResources(
        new StreamObserver<>() {
          @Override public void onNext(DiscoveryResponse r) { responses.add(r); }
          @Override public void onError(Throwable t) { error.set(t); }
          @Override public void onCompleted() { }
        });
    req.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("probe-" + creds.joinToken()))
        .setTypeUrl(Resources.V3.SECRET_TYPE_URL).addResourceNames(TrustBundleSecret.NAME).build());
    return new Result(ch, responses, error);
  }
}
