package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.ClientCalls;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTP/2 over TLS chosen by ALPN on a TLS listener (curl, grpc-java), and the HTTP/1.1 fallback. */
class Http2OverTlsTest {
  static TestCa ca;
  @TempDir static Path dir;
  static Path serverCert;
  static Path serverKey;
  static Path caFile;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-h2-test-ca");
    serverCert = ca.issue("proxy.test", "proxy.test", "localhost").write(dir, "server");
    serverKey = dir.resolve("server.key");
    caFile = ca.write(dir, "ca.crt");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** A TLS listener advertising {@code alpn}, routing gRPC to cluster "grpc" and the rest to "backend". */
  private static String yaml(String alpn, String clusters) {
    return TlsYaml.httpsListener(serverCert, serverKey, "", "            alpn_protocols: [" + alpn + "]", GRPC_THEN_BACKEND, clusters);
  }

  private static final String GRPC_THEN_BACKEND = """
                    - match: { prefix: "/test.Echo/", grpc: {} }
                      route: { cluster: grpc }
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;

  private static String cluster(String name, int port, String extra) {
    return """
          - name: %s
            connect_timeout: 2s
            type: STATIC
            lb_policy: ROUND_ROBIN
        %s
            load_assignment:
              cluster_name: %s
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        """.formatted(name, extra.stripTrailing(), name, port);
  }

  private static final String H2 = "    http2_protocol_options: {}\n";

  private static String curl(String version, int port, String path) throws Exception {
    Process curl = new ProcessBuilder("curl", "-sS", version, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
        "--cacert", caFile.toString(), "https://localhost:" + port + path).redirectErrorStream(true).start();
    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new String(curl.getInputStream().readAllBytes());
  }

  @Test
  void curlNegotiatesH2AndIsServedHttp2OverTlsCountedOnce() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(yaml("h2, http/1.1", cluster("backend", up.port(), "") + cluster("grpc", 1, H2)), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl("--http2", port, "/over-h2")).isEqualTo("2 200");
    assertThat(up.requestLines).contains("GET /over-h2 HTTP/1.1");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "https");
    // The HTTP/1.1 handler counted the connection before ALPN switched it: it must be counted once, and closed.
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      String stats = RunningProxies.admin(p, "/stats");
      assertThat(stats).contains("ingress_https.downstream_cx_total: 1\n").contains("ingress_https.downstream_cx_active: 0\n")
          .contains("ingress_https.downstream_cx_http2_total: 1\n").contains("ingress_https.downstream_cx_http2_active: 0\n")
          .contains("ingress_https.downstream_rq_http2_total: 1\n");
    });
  }

  @Test
  void anH2StreamOverTlsIsMirroredToTheShadowCluster() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    TestUpstream shadow = proxies.keep(new TestUpstream("shadow"));
    String mirrored = """
                    - match: { prefix: "/" }
                      route:
                        cluster: backend
                        request_mirror_policies:
                        - cluster: shadow
      """;
    ProxyServer p = proxies.start(TlsYaml.httpsListener(serverCert, serverKey, "", "            alpn_protocols: [h2]", mirrored,
        cluster("backend", up.port(), "") + cluster("shadow", shadow.port(), "")), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl("--http2", port, "/mirrored?x=1")).isEqualTo("2 200");
    assertThat(up.requestLines).containsExactly("GET /mirrored?x=1 HTTP/1.1");
    await().atMost(Duration.ofSeconds(20)).until(() -> shadow.requests.get() == 1);
    assertThat(shadow.requestLines).containsExactly("GET /mirrored?x=1 HTTP/1.1");
    assertThat(shadow.lastHeaders).containsEntry("host", "localhost-shadow:" + port).containsEntry("x-forwarded-proto", "https");
  }

  @Test
  void anH2StreamReachesAnHttp1ClusterOverTls() throws Exception {
    TestCa.Leaf backend = ca.issue("backend.test", "backend.test");
    TestUpstream up = proxies.keep(new TestUpstream("backend",
        io.netty.handler.ssl.SslContextBuilder.forServer(backend.key(), backend.cert()).build()));
    String tls = TlsYaml.upstreamTls(TlsYaml.trustingCa(caFile));
    ProxyServer p = proxies.start(yaml("h2, http/1.1", cluster("backend", up.port(), tls) + cluster("grpc", 1, H2)), 1);
    assertThat(curl("--http2", p.listenerAddress("ingress").getPort(), "/h2-to-tls")).isEqualTo("2 200");
    assertThat(up.requestLines).contains("GET /h2-to-tls HTTP/1.1");
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.handshake: 1");
  }

  @Test
  void clientsWithoutH2FallBackToHttp1OnTheSameListener() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(yaml("h2, http/1.1", cluster("backend", up.port(), "") + cluster("grpc", 1, H2)), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl("--http1.1", port, "/over-h1")).isEqualTo("1.1 200");
    HttpClient java = HttpClient.newBuilder().sslContext(ca.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<String> r = java.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/java")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(up.requestLines).contains("GET /over-h1 HTTP/1.1", "GET /java HTTP/1.1");
  }

  @Test
  void aListenerWithoutH2InAlpnServesHttp1EvenToH2Clients() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(yaml("http/1.1", cluster("backend", up.port(), "") + cluster("grpc", 1, H2)), 1);
    assertThat(curl("--http2", p.listenerAddress("ingress").getPort(), "/no-h2")).isEqualTo("1.1 200");
  }

  @Test
  void grpcJavaOverTlsReachesAnH2cClusterAndAnHttp2OverTlsCluster() throws Exception {
    GrpcEcho plain = new GrpcEcho();
    proxies.keep(plain::close);
    Path backendCert = ca.issue("backend.test", "backend.test").write(dir, "backend");
    GrpcEcho secure = new GrpcEcho(TlsServerCredentials.create(backendCert.toFile(), dir.resolve("backend.key").toFile()));
    proxies.keep(secure::close);
    TestUpstream up = proxies.keep(new TestUpstream("backend"));

    for (String grpcCluster : List.of(cluster("grpc", plain.port(), H2), cluster("grpc", secure.port(), H2 + TlsYaml.upstreamTls(TlsYaml.trustingCa(caFile))))) {
      ProxyServer p = RunningProxies.startDetached(yaml("h2, http/1.1", cluster("backend", up.port(), "") + grpcCluster), 1);
      ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", p.listenerAddress("ingress").getPort(),
          TlsChannelCredentials.newBuilder().trustManager(caFile.toFile()).build()).build();
      try {
        CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
        assertThat(ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, deadline, "over tls")).isEqualTo("over tls");
        List<String> counted = new ArrayList<>();
        Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel, GrpcEcho.COUNT, deadline, "3");
        it.forEachRemaining(counted::add);
        assertThat(counted).containsExactly("0", "1", "2");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        p.close();
      }
    }
    assertThat(secure.calls.get()).as("the TLS cluster's server was reached").isEqualTo(2);
  }
}
