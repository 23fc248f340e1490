package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.H2FrameUpstream;
import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * HTTP/3 listeners (QUIC over real UDP sockets) served to ngtcp2's client, an independent QUIC and HTTP/3
 * implementation: requests go through the same route, filters, upstreams and access log as HTTP/2 streams.
 */
class Http3ProxyTest extends Http3ListenerFixture {
  private ProxyServer start(String virtualHosts, String filters, String hcmExtra, String clusters) throws Exception {
    return startH3("{}", virtualHosts, filters, hcmExtra, clusters);
  }

  private static final String BY_AUTHORITY = """
                    - name: a
                      domains: ["a.test"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: a }
                    - name: rest
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/known" }
                        route: { cluster: b }
      """;

  @Test
  void aGetOverHttp3ReachesAnHttp1BackendAndIsLoggedAsHttp3() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    Path log = dir.resolve("h3-access.log");
    String accessLog = QuicYaml.accessLog(log, "%PROTOCOL% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%\\n");
    ProxyServer p = start(ProxyHarness.allTo("backend"), "", accessLog,
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
    int port = p.listenerAddress("h3").getPort();

    Ngtcp2Client.Response r = Ngtcp2Client.get(port, "localhost", "/hello?x=1", dir);

    assertThat(r.status()).as(r.output()).isEqualTo(200);
    assertThat(r.header("x-upstream")).isEqualTo("backend");
    assertThat(r.body()).startsWith("GET /hello?x=1\n").contains("x-forwarded-proto: https").contains("body-bytes: 0");
    assertThat(r.body()).doesNotContain("transfer-encoding").doesNotContain("x-http2");
    assertThat(up.requestLines).containsExactly("GET /hello?x=1 HTTP/1.1");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(Files.exists(log) ? Files.readString(log) : "").isEqualTo("HTTP/3 GET /hello?x=1 200\n"));
    assertThat(RunningProxies.admin(p, "/listeners")).contains("h3::127.0.0.1:" + port);
    assertThat(RunningProxies.admin(p, "/stats")).contains("http.h3.downstream_rq_total: 1")
        .contains("http.h3.downstream_cx_total: 1").contains("http.h3.downstream_rq_2xx: 1")
        .contains("http.h3.downstream_cx_http3_total: 1\n").contains("http.h3.downstream_rq_http3_total: 1\n")
        .contains("http.h3.downstream_cx_http2_total: 0\n").contains("http.h3.downstream_rq_rx_reset: 0\n");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(RunningProxies.admin(p, "/stats"))
        .contains("http.h3.downstream_cx_active: 0\n").contains("http.h3.downstream_cx_http3_active: 0\n"));
    assertThat(RunningProxies.admin(p, "/stats/prometheus"))
        .contains("envoy_http_downstream_rq_http3_total{envoy_http_conn_manager_prefix=\"h3\"} 1");
  }

  @Test
  void aPostBodyOverHttp3ReachesTheBackend() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(ProxyHarness.allTo("backend"), "", "", ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
    byte[] body = "x".repeat(100_000).getBytes(StandardCharsets.UTF_8);

    Ngtcp2Client.Response r = Ngtcp2Client.send("POST", p.listenerAddress("h3").getPort(), "localhost", "/upload", body, dir);

    assertThat(r.status()).as(r.output()).isEqualTo(200);
    assertThat(r.body()).startsWith("POST /upload\n").contains("body-bytes: 100000");
    assertThat(up.lastBody).isEqualTo(body);
  }

  @Test
  void routesByAuthorityAnswers404WithoutARouteAndReachesAnH2cBackend() throws Exception {
    TestUpstream a = proxies.keep(new TestUpstream("a"));
    H2FrameUpstream b = proxies.keep(new H2FrameUpstream((stream, request) -> {
      stream.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("x-upstream", "h2c")));
      stream.writeAndFlush(new DefaultHttp2DataFrame(io.netty.buffer.Unpooled.copiedBuffer(
          "h2c saw " + request.headers().path(), StandardCharsets.UTF_8), true));
    }));
    ProxyServer p = start(BY_AUTHORITY, "", "", ProxyHarness.cluster("a", "ROUND_ROBIN", a.port())
        + ProxyHarness.cluster("b", "ROUND_ROBIN", b.port()) + "    http2_protocol_options: {}\n");
    int port = p.listenerAddress("h3").getPort();

    Ngtcp2Client.Response toA = Ngtcp2Client.get(port, "a.test", "/any", dir);
    Ngtcp2Client.Response toB = Ngtcp2Client.get(port, "localhost", "/known/x", dir);
    Ngtcp2Client.Response none = Ngtcp2Client.get(port, "localhost", "/unknown", dir);

    assertThat(toA.status()).as(toA.output()).isEqualTo(200);
    assertThat(toA.header("x-upstream")).isEqualTo("a");
    assertThat(toB.status()).as(toB.output()).isEqualTo(200);
    assertThat(toB.header("x-upstream")).isEqualTo("h2c");
    assertThat(toB.body()).isEqualTo("h2c saw /known/x");
    assertThat(none.status()).as(none.output()).isEqualTo(404);
    assertThat(a.requests.get()).isEqualTo(1);
    assertThat(b.requests.get()).isEqualTo(1);
  }

  @Test
  void rbacDeniesAnHttp3RequestWith403() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(ProxyHarness.allTo("backend"), ProxyHarness.rbacDenyPrefix("/admin"), "",
        ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
    int port = p.listenerAddress("h3").getPort();

    Ngtcp2Client.Response denied = Ngtcp2Client.get(port, "localhost", "/admin/x", dir);
    Ngtcp2Client.Response allowed = Ngtcp2Client.get(port, "localhost", "/public", dir);

    assertThat(denied.status()).as(denied.output()).isEqualTo(403);
    assertThat(denied.body()).isEqualTo("RBAC: access denied");
    assertThat(allowed.status()).as(allowed.output()).isEqualTo(200);
    assertThat(up.requestLines).containsExactly("GET /public HTTP/1.1");
  }

  /** Envoy's way to advertise HTTP/3: the TCP listener's responses carry alt-svc for the QUIC listener's port. */
  @Test
  void aTcpListenerAdvertisesTheQuicListenerWithAltSvcFromResponseHeadersToAdd() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    int port = portFreeForTcpAndUdp();
    String tcp = """
          - name: tcp
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: tcp
                  route_config:
                    response_headers_to_add:
                    - header: { key: alt-svc, value: 'h3=":%d"; ma=86400' }
                    virtual_hosts:
        %s
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
        """.formatted(port, port, ProxyHarness.allTo("backend").stripTrailing());
    ProxyServer p = proxies.start(QuicYaml.bootstrap(tcp + QuicYaml.listener("h3", port, "{}", cert, key,
        ProxyHarness.allTo("backend"), "", ""), ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())), 1);
    assertThat(p.listenerAddress("tcp").getPort()).isEqualTo(port);
    assertThat(p.listenerAddress("h3").getPort()).isEqualTo(port);

    Process curl = new ProcessBuilder("curl", "-sS", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:" + port + "/")
        .redirectErrorStream(true).start();
    String head = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(curl.waitFor()).isZero();
    assertThat(head).contains("alt-svc: h3=\":" + port + "\"; ma=86400");

    Ngtcp2Client.Response overH3 = Ngtcp2Client.get(port, "localhost", "/after-alt-svc", dir);
    assertThat(overH3.status()).as(overH3.output()).isEqualTo(200);
    assertThat(overH3.header("alt-svc")).isNull(); // the QUIC listener's own routes add none
  }

  @Test
  void requireClientCertificateRefusesAClientWithoutOneAndServesOneWithIt() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    TestCa clients = new TestCa("keelson-h3-client-ca");
    String[] clientCert = QuicYaml.clientCertificateOptions(clients.issue("client.test", "client.test"), dir, "client");
    String mtls = """
                    require_client_certificate: true
        """;
    String yaml = QuicYaml.withClientTrust(QuicYaml.bootstrap(QuicYaml.listener("h3", 0, "{}", cert, key, mtls,
        ProxyHarness.allTo("backend"), "", ""), ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port())),
        clients.write(dir, "client-ca.crt"));
    ProxyServer p = proxies.start(yaml, 1);
    int port = p.listenerAddress("h3").getPort();

    Ngtcp2Client.Response without = Ngtcp2Client.get(port, "localhost", "/no-cert", dir);
    Ngtcp2Client.Response with = Ngtcp2Client.send("GET", port, "localhost", "/with-cert", null, dir,
        clientCert);

    assertThat(without.status()).as(without.output()).isEqualTo(-1);
    assertThat(with.status()).as(with.output()).isEqualTo(200);
    assertThat(up.requestLines).containsExactly("GET /with-cert HTTP/1.1");
  }

  /**
   * No Retry round trip (Envoy's default): the client's first flight is answered by the handshake; quiche's 3x
   * anti-amplification limit bounds what an unvalidated address gets. Seen in the client's qlog.
   */
  @Test
  void theHandshakeNeedsNoRetryRoundTrip() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(ProxyHarness.allTo("backend"), "", "", ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port()));
    Path qlog = dir.resolve("no-retry.qlog");

    Ngtcp2Client.Response r = Ngtcp2Client.send("GET", p.listenerAddress("h3").getPort(), "localhost", "/no-retry", null,
        dir, "--qlog-file=" + qlog);

    assertThat(r.status()).as(r.output()).isEqualTo(200);
    assertThat(Files.readString(qlog)).contains("packet_received").doesNotContainIgnoringCase("\"retry\"");
  }

  /** All or nothing, as for UDP listeners: an update refused for a TCP bind leaves the removed QUIC listener serving. */
  @Test
  void anUpdateWhoseTcpListenerCannotBindLeavesTheQuicListenerServing() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    String clusters = ProxyHarness.cluster("backend", "ROUND_ROBIN", up.port());
    ProxyServer p = start(ProxyHarness.allTo("backend"), "", "", clusters);
    int port = p.listenerAddress("h3").getPort();
    String unbindable = ProxyHarness.unbindableTcpListener("backend");

    assertThatThrownBy(() -> p.install(io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        QuicYaml.bootstrap(unbindable, clusters), "v2.yaml"))).hasMessageContaining("tcp");

    Ngtcp2Client.Response r = Ngtcp2Client.get(port, "localhost", "/still-served", dir);
    assertThat(r.status()).as(r.output()).isEqualTo(200);
    assertThat(p.listenerAddress("h3").getPort()).isEqualTo(port);
  }

  private static int portFreeForTcpAndUdp() throws Exception {
    for (int i = 0; i < 50; i++) {
      try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        int port = s.getLocalPort();
        try (java.net.DatagramSocket u = new java.net.DatagramSocket(port, java.net.InetAddress.getLoopbackAddress())) {
          return port;
        } catch (java.net.SocketException taken) {
          // its UDP twin is in use: another one
        }
      }
    }
    throw new IllegalStateException("no port free for both TCP and UDP");
  }
}
