package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Istio's metadata exchange between two real sidecars over mesh mTLS from the control plane: each sidecar's
 * {@code istio_requests_total}, scraped from its admin port, names both workloads (the caller's outbound reporter the
 * destination's workload, namespace, principal, app and version; the destination's inbound reporter the caller's, with
 * {@code connection_security_policy="mutual_tls"}), the app never sees the exchange headers and neither does the
 * client; gRPC calls are counted with {@code request_protocol="grpc"} and their {@code grpc_response_status}.
 */
class IstioPeerMetadataEndToEndTest {
  private static final String WEB = "spiffe://cluster.local/ns/default/sa/web";
  private static final String PRODUCT = "spiffe://cluster.local/ns/default/sa/product";

  @Test
  void bothReportersCarryBothPeersAndNeitherTheAppNorTheClientSeesTheExchangeHeaders() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        TestUpstream app = new TestUpstream("product");
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app.port(),
            Map.of("app", "product", "version", "v1"));
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1, Map.of("app", "web", "version", "v2"))) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES + "---\n" + GrpcMeshTest.STRICT).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(20)).until(() -> get(outbound, "/warmup") != null
          && !SidecarMtlsTest.inbound(product).plaintextToo());
      String[] source = {"reporter=\"source\"", "destination_service=\"product-service\"", "response_code=\"200\"",
          "source_workload=\"web\"", "source_workload_namespace=\"default\"", "source_principal=\"" + WEB + "\"",
          "source_app=\"web\"", "source_version=\"v2\"", "destination_workload=\"product-service\"",
          "destination_workload_namespace=\"default\"", "destination_principal=\"" + PRODUCT + "\"",
          "destination_app=\"product\"", "destination_version=\"v1\"", "request_protocol=\"http\"",
          "connection_security_policy=\"unknown\"", "grpc_response_status=\"\"", "source_cluster=\"Kubernetes\"",
          "destination_cluster=\"Kubernetes\""};
      String[] destination = {"reporter=\"destination\"", "response_code=\"200\"", "source_workload=\"web\"",
          "source_workload_namespace=\"default\"", "source_principal=\"" + WEB + "\"", "source_app=\"web\"",
          "source_version=\"v2\"", "destination_workload=\"product-service\"",
          "destination_workload_namespace=\"default\"", "destination_principal=\"" + PRODUCT + "\"",
          "destination_app=\"product\"", "destination_version=\"v1\"", "connection_security_policy=\"mutual_tls\"",
          "source_cluster=\"Kubernetes\"", "destination_cluster=\"Kubernetes\""};
      long sourceBefore = count(web, source);
      long destinationBefore = count(product, destination);
      for (int i = 0; i < 3; i++) {
        RawHttp.Response r = get(outbound, "/items/" + i);
        assertThat(r).isNotNull();
        assertThat(r.headers()).as("the client sees no exchange headers")
            .doesNotContainKeys("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
        // Names lower-cased here, whatever case the proxy wrote them in; host shows the request reached the app.
        assertThat(app.lastHeaders.keySet()).as("the app sees no exchange headers")
            .extracting(k -> k.toLowerCase(java.util.Locale.ROOT)).contains("host")
            .doesNotContain("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
      }
      assertThat(count(web, source) - sourceBefore).as(scrape(web)).isEqualTo(3);
      assertThat(count(product, destination) - destinationBefore).as(scrape(product)).isEqualTo(3);
    }
  }

  @Test
  void grpcCallsAreCountedWithTheirGrpcStatusOnBothSides() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        GrpcMeshApp app = new GrpcMeshApp("v1", "127.0.0.1", 0);
        Sidecar echo = SidecarMtlsTest.secureSidecar(cp, "grpc-echo", "echo", app.port(), Map.of("app", "echo"));
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1, Map.of("app", "web"))) {
      cp.store.apply(PolicyParser.parse("services.yaml", GrpcMeshTest.GRPC_ECHO_AND_WEB + GrpcMeshTest.STRICT).policies(),
          false);
      ManagedChannel ch = GrpcMeshApp.channel("127.0.0.1", web.outboundAddress().getPort(), "grpc-echo");
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> GrpcMeshTest.answers(ch, "v1:hi") && !SidecarMtlsTest.inbound(echo).plaintextToo());
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        Channel captured = ClientInterceptors.intercept(ch, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        assertThat(io.grpc.stub.ClientCalls.blockingUnaryCall(captured, GrpcMeshApp.UNARY, GrpcMeshApp.deadline(), "a"))
            .isEqualTo("v1:a");
        assertThat(headers.get().keys()).as("the gRPC client sees no exchange headers")
            .doesNotContain("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
        assertThat(app.lastHeaderKeys).as("the gRPC app sees no exchange headers").isNotEmpty()
            .doesNotContain("x-envoy-peer-metadata", "x-envoy-peer-metadata-id");
        assertThat(GrpcMeshApp.unaryStatus(ch, "fail:gone")).isEqualTo("NOT_FOUND: gone");
        assertThat(GrpcMeshApp.unaryStatus(ch, "fail:again")).isEqualTo("NOT_FOUND: again");
      } finally {
        ch.shutdownNow();
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(requests(web, "reporter=\"source\"", "request_protocol=\"grpc\"", "grpc_response_status=\"5\"",
            "destination_workload=\"grpc-echo\"", "destination_app=\"echo\"")).as(scrape(web)).hasSize(1)
            .allMatch(l -> l.endsWith(" 2"));
        assertThat(requests(web, "reporter=\"source\"", "request_protocol=\"grpc\"", "grpc_response_status=\"0\"",
            "destination_workload=\"grpc-echo\"")).as(scrape(web)).hasSize(1);
        assertThat(requests(echo, "reporter=\"destination\"", "request_protocol=\"grpc\"", "grpc_response_status=\"5\"",
            "source_workload=\"web\"", "source_principal=\"" + WEB + "\"", "connection_security_policy=\"mutual_tls\""))
            .as(scrape(echo)).hasSize(1).allMatch(l -> l.endsWith(" 2"));
      });
    }
  }

  @Test
  void tcpConnectionsOverMeshMtlsNameTheCallerByItsCertificateOnTheInboundReporter() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        SidecarTcpAuthorizationTest.TcpEcho app = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echo = SidecarTcpAuthorizationTest.tcpSidecar(cp, "tcp-echo", "echo", app.port())) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        var in = SidecarTcpAuthorizationTest.inbound(echo);
        assertThat(in != null && in.tcpProxy() != null && in.tls() != null && in.plaintextToo()).isTrue();
      });
      int inbound = echo.inboundAddress().getPort();
      var ca = cp.security.ca();
      var web = new io.keelson.dataplane.security.StaticCertificateSource(
          SidecarMtlsTest.svid(ca, ca.identity("default", "web")), ca.roots());
      assertThat(SidecarTcpAuthorizationTest.exchange(inbound, web)).isEqualTo("hello world");
      assertThat(SidecarTcpAuthorizationTest.exchange(inbound, web)).isEqualTo("hello world");
      assertThat(SidecarTcpAuthorizationTest.plaintext(inbound)).isEqualTo("hello world");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(samples(echo, "istio_tcp_connections_opened_total", "reporter=\"destination\"",
            "source_principal=\"" + WEB + "\"", "source_workload_namespace=\"default\"",
            "connection_security_policy=\"mutual_tls\"", "request_protocol=\"tcp\"")).as(scrape(echo))
            .hasSize(1).allMatch(l -> l.endsWith(" 2"));
        assertThat(samples(echo, "istio_tcp_received_bytes_total", "source_principal=\"" + WEB + "\"",
            "connection_security_policy=\"mutual_tls\"")).as("the bytes of both mTLS connections (\"world\\n\" each)")
            .hasSize(1).allMatch(l -> l.endsWith(" 12"));
        assertThat(samples(echo, "istio_tcp_connections_opened_total", "reporter=\"destination\"",
            "source_principal=\"unknown\"", "connection_security_policy=\"none\"")).as(scrape(echo))
            .hasSize(1).allMatch(l -> l.endsWith(" 1"));
      });
    }
  }

  /** The {@code istio_requests_total} samples of {@code sidecar}'s Prometheus endpoint that have every label given. */
  static List<String> requests(Sidecar sidecar, String... labels) throws IOException {
    return samples(sidecar, "istio_requests_total", labels);
  }

  /** The samples of {@code metric} on {@code sidecar}'s Prometheus endpoint that have every label given. */
  static List<String> samples(Sidecar sidecar, String metric, String... labels) throws IOException {
    return scrape(sidecar).lines().filter(l -> l.startsWith(metric + "{"))
        .filter(l -> Arrays.stream(labels).allMatch(l::contains)).toList();
  }

  /** The sum of the matching {@code istio_requests_total} samples. */
  private static long count(Sidecar sidecar, String... labels) throws IOException {
    return requests(sidecar, labels).stream().mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  /** {@code GET /stats/prometheus} on the sidecar's admin port. */
  static String scrape(Sidecar sidecar) throws IOException {
    InetSocketAddress admin = sidecar.server().adminAddress();
    try (RawHttp http = new RawHttp(admin.getPort())) {
      RawHttp.Response r = http.send("GET /stats/prometheus HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").read();
      assertThat(r.status()).isEqualTo(200);
      return r.body();
    }
  }

  static RawHttp.Response get(int port, String path) {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET " + path + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
      return r.status() == 200 ? r : null;
    } catch (IOException e) {
      return null;
    }
  }
}
