package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code forward_client_cert_details} (x-forwarded-client-cert) on HTTP/2 streams, end to end: h2 over
 * mutual TLS (curl and grpc-java presenting a SPIFFE certificate), to HTTP/1.1 and HTTP/2 upstreams,
 * across retries, and h2c (no certificate: as plaintext HTTP/1.1).
 */
class Http2ForwardClientCertTest {
  static final String PROXY_ID = XfccPeers.PROXY_ID;
  static final String CLIENT_ID = XfccPeers.CLIENT_ID;
  static final String FORGED = "By=spiffe://test/ns/default/sa/proxy;URI=spiffe://test/ns/default/sa/forged";
  static final String XFCC = XfccPeers.XFCC;

  @TempDir static Path dir;
  static XfccPeers peers;
  /** The element this proxy adds for the client's connection. */
  static String element;

  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    peers = XfccPeers.issue(dir, "keelson-xfcc-test-ca");
    element = peers.element;
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private static final String ROUTES = """
                    - match: { prefix: "/test.Echo/", grpc: {} }
                      route: { cluster: grpc }
                    - match: { prefix: "/retried" }
                      route:
                        cluster: backend
                        retry_policy: { retry_on: 5xx, num_retries: 2, retry_back_off: { base_interval: 0.005s } }
                    - match: { prefix: "/" }
                      route: { cluster: backend }
      """;

  /** An mTLS listener (ALPN h2, http/1.1) with {@code hcmFields} in its connection manager; gRPC to "grpc", the rest to "backend". */
  private static String mtlsYaml(String hcmFields, int backendPort, int grpcPort) {
    String clusters = ProxyHarness.cluster("backend", "ROUND_ROBIN", backendPort)
        + ProxyHarness.cluster("grpc", "ROUND_ROBIN", grpcPort) + "    http2_protocol_options: {}\n";
    return peers.mtlsYaml("h2, http/1.1", ROUTES, clusters, hcmFields);
  }

  private static String curl(String version, int port, String path, String... headerLines) throws Exception {
    return peers.curl(version, port, path, headerLines);
  }

  @Test
  void sanitizeSetReplacesAForgedHeaderWithTheVerifiedIdentityOnH2AsOnHttp1() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("""
        forward_client_cert_details: SANITIZE_SET
        set_current_client_cert_details: { uri: true }
        """, up.port(), 1), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl("--http2", port, "/h2", XFCC + ": " + FORGED)).isEqualTo("2 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(element).startsWith("By=" + PROXY_ID + ";Hash=")
        .endsWith(";URI=" + CLIENT_ID).doesNotContain("forged");
    assertThat(curl("--http2", port, "/h2-no-header")).isEqualTo("2 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(element);
    // The HTTP/1.1 path on the same listener gives the same element.
    assertThat(curl("--http1.1", port, "/h1", XFCC + ": " + FORGED)).isEqualTo("1.1 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(element);
    assertThat(up.requestLines).containsExactly("GET /h2 HTTP/1.1", "GET /h2-no-header HTTP/1.1", "GET /h1 HTTP/1.1");
  }

  @Test
  void sanitizeTheDefaultRemovesAClientSuppliedHeaderOnH2() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("", up.port(), 1), 1);
    assertThat(curl("--http2", p.listenerAddress("ingress").getPort(), "/sanitized", XFCC + ": " + FORGED)).isEqualTo("2 200");
    assertThat(up.requestLines).containsExactly("GET /sanitized HTTP/1.1");
    assertThat(up.lastHeaders).doesNotContainKey(XFCC).containsKey("x-forwarded-proto");
  }

  @Test
  void appendForwardKeepsTheClientsHeaderAndAppendsTheElementOncePerRequestAcrossRetries() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("""
        forward_client_cert_details: APPEND_FORWARD
        set_current_client_cert_details: { uri: true }
        """, up.port(), 1), 1);
    int port = p.listenerAddress("ingress").getPort();

    assertThat(curl("--http2", port, "/appended", XFCC + ": " + FORGED)).isEqualTo("2 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(FORGED + "," + element);
    assertThat(curl("--http2", port, "/first-hop")).isEqualTo("2 200");
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(element);
    assertThat(curl("--http1.1", port, "/appended-h1", XFCC + ": " + FORGED)).isEqualTo("1.1 200");
    assertThat(up.lastHeaders.get(XFCC)).as("the HTTP/1.1 path, for comparison").isEqualTo(FORGED + "," + element);

    // Three tries of one stream (503, retried twice): the last try carries the header, appended once.
    up.forceStatus = 503;
    int before = up.requests.get();
    assertThat(curl("--http2", port, "/retried", XFCC + ": " + FORGED)).isEqualTo("2 503");
    assertThat(up.requests.get() - before).isEqualTo(3);
    assertThat(up.lastHeaders.get(XFCC)).isEqualTo(FORGED + "," + element);
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.upstream_rq_retry: 2");
  }

  @Test
  void grpcJavaWithMtlsReachesAnHttp2UpstreamWithTheCallersIdentity() throws Exception {
    GrpcEcho echo = new GrpcEcho();
    proxies.keep(echo::close);
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = proxies.start(mtlsYaml("""
        forward_client_cert_details: SANITIZE_SET
        set_current_client_cert_details: { uri: true }
        """, up.port(), echo.port()), 1);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("localhost", p.listenerAddress("ingress").getPort(),
        TlsChannelCredentials.newBuilder().keyManager(peers.clientCert.toFile(), peers.clientKey.toFile())
            .trustManager(peers.caFile.toFile()).build()).build();
    try {
      Metadata forged = new Metadata();
      forged.put(Metadata.Key.of(XFCC, Metadata.ASCII_STRING_MARSHALLER), FORGED);
      var forging = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(forged));
      CallOptions deadline = CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
      assertThat(ClientCalls.blockingUnaryCall(forging, GrpcEcho.UNARY, deadline, "who am i")).isEqualTo("who am i");
      assertThat(echo.lastHeaders.getAll(Metadata.Key.of(XFCC, Metadata.ASCII_STRING_MARSHALLER))).containsExactly(element);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void h2cHasNoCertificateSoModesActAsOnPlaintextHttp1() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    for (String mode : List.of("SANITIZE_SET", "APPEND_FORWARD", "FORWARD_ONLY", "ALWAYS_FORWARD_ONLY")) {
      ProxyServer p = RunningProxies.startDetached(ProxyHarness.withHcm(
          ProxyHarness.bootstrap(ProxyHarness.allTo("backend"), ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())),
          "forward_client_cert_details: " + mode, "set_current_client_cert_details: { uri: true }"), 1);
      try {
        Process curl = new ProcessBuilder("curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
            "-H", XFCC + ": " + FORGED, "http://127.0.0.1:" + p.listenerAddress("ingress").getPort() + "/h2c-" + mode)
            .redirectErrorStream(true).start();
        assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(curl.getInputStream().readAllBytes())).isEqualTo("2 200");
        assertThat(up.requestLines).last().isEqualTo("GET /h2c-" + mode + " HTTP/1.1");
        if (mode.equals("ALWAYS_FORWARD_ONLY")) {
          assertThat(up.lastHeaders.get(XFCC)).as(mode).isEqualTo(FORGED);
        } else {
          assertThat(up.lastHeaders).as(mode).doesNotContainKey(XFCC);
        }
      } finally {
        p.close();
      }
    }
  }
}
