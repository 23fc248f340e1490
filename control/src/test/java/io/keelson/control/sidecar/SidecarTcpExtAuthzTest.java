package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.svid;
import static io.keelson.control.sidecar.SidecarTcpAuthorizationTest.CLOSED;
import static io.keelson.control.sidecar.SidecarTcpAuthorizationTest.exchange;
import static io.keelson.control.sidecar.SidecarTcpAuthorizationTest.inbound;
import static io.keelson.control.sidecar.SidecarTcpAuthorizationTest.plaintext;
import static io.keelson.control.sidecar.SidecarTcpAuthorizationTest.tcpSidecar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.control.sidecar.SidecarTcpAuthorizationTest.TcpEcho;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.StaticCertificateSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * End to end: AuthorizationPolicy action CUSTOM on a sidecar whose app speaks raw TCP ({@code --inbound-protocol tcp}),
 * with an envoyExtAuthzGrpc provider: the control plane puts istiod's shadow network RBAC and
 * {@code envoy.filters.network.ext_authz} before the inbound tcp_proxy; a real grpc-java authorizer is asked about the
 * mTLS connections the CUSTOM rule matches (and only those), by source principal; a denied connection never reaches the
 * app. An envoyExtAuthzHttp provider is skipped on the TCP app, as istiod does, and the proxy's status says so.
 */
class SidecarTcpExtAuthzTest {
  private static final String POLICY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: { name: ext, namespace: default }
      spec:
        action: CUSTOM
        provider: { name: %s }
        rules:
        - from: [ { source: { principals: [ "cluster.local/ns/default/sa/web", "cluster.local/ns/default/sa/tester" ] } } ]
      """;

  @Test
  void grpcProviderChecksTheConnectionsTheCustomRuleMatches() throws Exception {
    List<CheckRequest> checks = new CopyOnWriteArrayList<>();
    Server grpc = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> out) {
            checks.add(request);
            boolean allow = request.getAttributes().getSource().getPrincipal().equals("spiffe://cluster.local/ns/default/sa/web");
            out.onNext(CheckResponse.newBuilder().setStatus(com.google.rpc.Status.newBuilder().setCode(allow ? 0 : 7)).build());
            out.onCompleted();
          }
        }).build().start();
    ExtensionProviders providers = ExtensionProviders.parse("mesh.yaml", """
        extensionProviders:
        - name: authz-grpc
          envoyExtAuthzGrpc: { service: 127.0.0.1, port: %d, timeout: 2s }
        - name: authz-http
          envoyExtAuthzHttp: { service: 127.0.0.1, port: 1, timeout: 2s }
        """.formatted(grpc.getPort()));
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0).withExtensionProviders(providers));
        TcpEcho app = new TcpEcho();
        Sidecar echo = tcpSidecar(cp, "tcp-echo", "echo", app.port())) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        var in = inbound(echo);
        assertThat(in != null && in.tcpProxy() != null && in.tls() != null).as("inbound %s", in).isTrue();
      });
      int inbound = echo.inboundAddress().getPort();
      MeshCa ca = cp.security.ca();
      CertificateSource web = new StaticCertificateSource(svid(ca, ca.identity("default", "web")), ca.roots());
      CertificateSource tester = new StaticCertificateSource(svid(ca, ca.identity("default", "tester")), ca.roots());
      CertificateSource other = new StaticCertificateSource(svid(ca, ca.identity("default", "other")), ca.roots());
      assertThat(exchange(inbound, tester)).isEqualTo("hello world"); // no policy yet

      cp.store.apply(PolicyParser.parse("ext.yaml", POLICY.formatted("authz-grpc")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> exchange(inbound, tester).equals(CLOSED));
      int before = app.accepted();
      int checked = checks.size();
      assertThat(exchange(inbound, web)).as("the authorizer allows sa/web").isEqualTo("hello world");
      assertThat(exchange(inbound, tester)).as("the authorizer denies sa/tester").isEqualTo(CLOSED);
      assertThat(checks.subList(checked, checks.size())).extracting(c -> c.getAttributes().getSource().getPrincipal())
          .containsExactly("spiffe://cluster.local/ns/default/sa/web", "spiffe://cluster.local/ns/default/sa/tester");
      assertThat(checks.getLast().getAttributes().getDestination().getPrincipal())
          .isEqualTo("spiffe://cluster.local/ns/default/sa/echo");
      // Not matched by the CUSTOM rule: never sent to the authorizer, and let through.
      assertThat(exchange(inbound, other)).isEqualTo("hello world");
      assertThat(plaintext(inbound)).isEqualTo("hello world");
      assertThat(checks).hasSize(checked + 2);
      assertThat(app.accepted() - before).as("the denied connection never reached the app").isEqualTo(3);

      var listener = cp.xds.resourcesFor(echo.nodeId()).listeners().stream()
          .filter(l -> l.getName().equals("inbound")).findFirst().orElseThrow();
      assertThat(listener.getFilterChains(0).getFiltersList()).extracting(f -> f.getName())
          .containsExactly("istio.metadata_exchange", "envoy.filters.network.rbac", "envoy.filters.network.ext_authz",
              "envoy.filters.network.tcp_proxy");
      assertThat(cp.xds.status()).filteredOn(s -> s.nodeId().equals(echo.nodeId())).singleElement()
          .satisfies(s -> assertThat(s.warnings()).noneMatch(w -> w.contains("CUSTOM")));

      // An HTTP provider cannot check TCP connections: as istiod, no check at all, and the status says so.
      cp.store.apply(PolicyParser.parse("ext.yaml", POLICY.formatted("authz-http")).policies(), false);
      await().atMost(Duration.ofSeconds(20)).until(() -> exchange(inbound, tester).equals("hello world"));
      assertThat(cp.xds.resourcesFor(echo.nodeId()).listeners().stream().filter(l -> l.getName().equals("inbound"))
          .findFirst().orElseThrow().getFilterChains(0).getFiltersList()).extracting(f -> f.getName())
          .containsExactly("istio.metadata_exchange", "envoy.filters.network.tcp_proxy");
      assertThat(cp.xds.status()).filteredOn(s -> s.nodeId().equals(echo.nodeId())).singleElement()
          .satisfies(s -> assertThat(s.warnings()).anyMatch(w -> w.contains("'authz-http' is envoyExtAuthzHttp")));
    } finally {
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
