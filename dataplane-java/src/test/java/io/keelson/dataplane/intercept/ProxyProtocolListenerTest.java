package io.keelson.dataplane.intercept;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.testing.ProxyHarness.fileAccessLog;
import static io.keelson.dataplane.testing.ProxyHarness.withHcm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.HaproxyProcess;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.transport.Transport;
import io.netty.buffer.ByteBufUtil;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * envoy.filters.listener.proxy_protocol through a running proxy, with real peers: HAProxy in front
 * ({@code send-proxy}, {@code send-proxy-v2}, its connections to the proxy from 127.0.0.9) and curl (bound to
 * 127.0.0.5 or 127.0.0.6 as the "real" clients; {@code --haproxy-protocol}), raw sockets for hand-written headers.
 */
class ProxyProtocolListenerTest {
  private static final String CLIENT = "127.0.0.5";
  private static final String OTHER_CLIENT = "127.0.0.6";
  private final RunningProxies proxies = new RunningProxies();
  @TempDir Path dir;

  @BeforeEach
  void needsHaproxy() {
    Assumptions.assumeTrue(HaproxyProcess.available(), "haproxy is not installed");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** {@code yaml}'s first listener with {@code filters} (listener_filters items indented 4 spaces) and extra fields. */
  static String withListenerFilters(String yaml, String filters) {
    String anchor = "    filter_chains:\n";
    return yaml.replaceFirst(anchor, "    listener_filters:\n" + filters.stripTrailing() + "\n" + anchor);
  }

  static String proxyProtocol(String config) {
    return """
            - name: envoy.filters.listener.proxy_protocol
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol
        %s
        """.formatted(config.isBlank() ? "" : config.stripTrailing().indent(8).stripTrailing());
  }

  /** An edge HTTP listener (use_remote_address, an access log, an RBAC rule allowing only {@link #CLIENT}). */
  private String edge(int backend, Path log, String ppConfig) {
    return edge(backend, log, ppConfig, """
        - source_ip: { address_prefix: 127.0.0.5, prefix_len: 32 }
        - remote_ip: { address_prefix: 127.0.0.5, prefix_len: 32 }
        """);
  }

  /** {@link #edge}, its RBAC policy allowing only principals matching every one of {@code ids} (a YAML list). */
  private String edge(int backend, Path log, String ppConfig, String ids) {
    String rbac = """
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: ALLOW
                        policies:
                          real-client:
                            permissions: [ { any: true } ]
                            principals:
                            - and_ids:
                                ids:
        %s""".formatted(ids.stripTrailing().indent(32));
    String yaml = withHcm(bootstrap(allTo("backend"), cluster("backend", "ROUND_ROBIN", backend), rbac),
        "use_remote_address: true",
        fileAccessLog(log, "%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %RESPONSE_CODE%\\n"));
    return withListenerFilters(yaml, proxyProtocol(ppConfig));
  }

  private ProxyServer start(String yaml, Transport transport) throws Exception {
    return proxies.keep(new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(1).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withTransport(transport).withDrainTime(Duration.ofSeconds(1))).start());
  }

  private ProxyServer start(String yaml) throws Exception {
    return start(yaml, Transport.select("auto"));
  }

  private static String balancer(int keelsonPort, String sendProxy) {
    return """
        listen lb
          bind 127.0.0.1:%%PORT%%
          server keelson 127.0.0.1:%d %s source 127.0.0.9
        """.formatted(keelsonPort, sendProxy);
  }

  /** curl's status line and headers (lower case); {@code args} come after the common ones. */
  static List<String> curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-D", "-", "-o", "/dev/null", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return out.lines().map(String::toLowerCase).toList();
  }

  private static String stats(ProxyServer p) throws Exception {
    return RunningProxies.admin(p, "/stats");
  }

  @Test
  void haproxySendProxyV2ClientIsTheRemoteAddressForXffAccessLogAndRbacOnEveryTransport() throws Exception {
    for (Transport t : Transport.values()) {
      if (t.unavailabilityCause() != null) {
        continue;
      }
      try (TestUpstream backend = new TestUpstream("web")) {
        Path log = dir.resolve("access-" + t.label() + ".log");
        ProxyServer p = start(edge(backend.port(), log, ""), t);
        try (HaproxyProcess lb = new HaproxyProcess(balancer(p.listenerAddress("ingress").getPort(), "send-proxy-v2"))) {
          String url = "http://127.0.0.1:" + lb.port() + "/who";
          assertThat(curl("--interface", CLIENT, url).getFirst()).as(t.label()).startsWith("http/1.1 200");
          assertThat(backend.lastHeaders.get("x-forwarded-for")).as(t.label()).isEqualTo(CLIENT);
          assertThat(curl("--interface", OTHER_CLIENT, url).getFirst()).as("RBAC sees the other client, %s: %s", t.label(), lb.log())
              .startsWith("http/1.1 403");
          await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readAllLines(log)).hasSize(2));
          List<String> lines = Files.readAllLines(log);
          assertThat(lines.get(0)).startsWith(CLIENT + ":").contains(" 127.0.0.1:" + lb.port() + " 200");
          assertThat(lines.get(1)).startsWith(OTHER_CLIENT + ":").endsWith(" 403");
          assertThat(stats(p)).contains("proxy_proto.versions.v2.found: 2", "downstream_cx_proxy_proto_error: 0");
        }
        p.close();
      }
    }
  }

  @Test
  void rbacDirectRemoteIpIsTheBalancerNotTheClientItsHeaderNames() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    ProxyServer p = start(edge(backend.port(), dir.resolve("a.log"), "", """
        - direct_remote_ip: { address_prefix: 127.0.0.9, prefix_len: 32 }
        - source_ip: { address_prefix: 127.0.0.5, prefix_len: 32 }
        - remote_ip: { address_prefix: 127.0.0.5, prefix_len: 32 }
        """));
    int port = p.listenerAddress("ingress").getPort();
    try (HaproxyProcess lb = proxies.keep(new HaproxyProcess(balancer(port, "send-proxy-v2")))) {
      assertThat(curl("--interface", CLIENT, "http://127.0.0.1:" + lb.port() + "/").getFirst())
          .as("the balancer (127.0.0.9) relays the client (127.0.0.5): %s", lb.log()).startsWith("http/1.1 200");
    }
    // The client itself, sending a header that names itself: direct_remote_ip is 127.0.0.5, not the balancer.
    assertThat(curl("--haproxy-protocol", "--interface", CLIENT, "http://127.0.0.1:" + port + "/").getFirst())
        .startsWith("http/1.1 403");
    // A header naming the balancer does not make its sender the balancer.
    try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(CLIENT), 0)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("PROXY TCP4 127.0.0.9 127.0.0.1 40000 80\r\n"
          + "GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 403");
    }
    assertThat(backend.requests.get()).isEqualTo(1);
  }

  @Test
  void v1FromHaproxyCurlAndAHandWrittenHeader() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    Path log = dir.resolve("access.log");
    ProxyServer p = start(edge(backend.port(), log, ""));
    int port = p.listenerAddress("ingress").getPort();
    try (HaproxyProcess lb = proxies.keep(new HaproxyProcess(balancer(port, "send-proxy")))) {
      assertThat(curl("--interface", CLIENT, "http://127.0.0.1:" + lb.port() + "/").getFirst()).startsWith("http/1.1 200");
      assertThat(backend.lastHeaders.get("x-forwarded-for")).isEqualTo(CLIENT);
    }
    assertThat(curl("--haproxy-protocol", "--interface", CLIENT, "http://127.0.0.1:" + port + "/").getFirst())
        .startsWith("http/1.1 200");
    // A header naming another client than the socket's peer: that client is the one seen (and refused by RBAC).
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("PROXY TCP4 203.0.113.7 198.51.100.1 40000 80\r\n"
          + "GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 403");
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readAllLines(log)).hasSize(3));
    assertThat(Files.readAllLines(log).get(2)).isEqualTo("203.0.113.7:40000 198.51.100.1:80 403");
    assertThat(stats(p)).contains("proxy_proto.versions.v1.found: 3");
  }

  @Test
  void tlsListenerBehindProxyV2() throws Exception {
    TestCa ca = new TestCa("pp-ca");
    Path cert = ca.issue("edge", "edge.test").write(dir, "edge");
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    String yaml = withHcm(TlsYaml.httpsListener(cert, dir.resolve("edge.key"), "", "", cluster("backend", "ROUND_ROBIN",
        backend.port())).replace("stat_prefix: ingress_https", "stat_prefix: ingress_http"), "use_remote_address: true");
    ProxyServer p = start(withListenerFilters(yaml, proxyProtocol("")));
    try (HaproxyProcess lb = proxies.keep(new HaproxyProcess(balancer(p.listenerAddress("ingress").getPort(), "send-proxy-v2")))) {
      List<String> out = curl("-k", "--interface", CLIENT, "https://127.0.0.1:" + lb.port() + "/tls");
      assertThat(out.getFirst()).startsWith("http/1.1 200");
      assertThat(backend.lastHeaders.get("x-forwarded-for")).isEqualTo(CLIENT);
      assertThat(backend.lastHeaders.get("x-forwarded-proto")).isEqualTo("https");
    }
  }

  /** Whether the proxy closed the connection after {@code bytes} (reading EOF or a reset, with nothing answered). */
  private static boolean closedAfter(int port, byte[] bytes) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(bytes);
      InputStream in = s.getInputStream();
      try {
        return in.read() == -1;
      } catch (java.net.SocketException reset) {
        return true;
      }
    }
  }

  @Test
  void malformedOrMissingHeadersCloseTheConnectionAndAreCounted() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    ProxyServer p = start(edge(backend.port(), dir.resolve("a.log"), ""));
    int port = p.listenerAddress("ingress").getPort();
    assertThat(closedAfter(port, "PROXY TCP4 1.2.3.4 nope 1 2\r\nGET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).isTrue();
    byte[] v2BadVersion = new byte[28];
    System.arraycopy(ProxyProtocolHeader.V2_SIGNATURE, 0, v2BadVersion, 0, 12);
    v2BadVersion[12] = 0x31;
    v2BadVersion[13] = 0x11;
    v2BadVersion[15] = 12;
    assertThat(closedAfter(port, v2BadVersion)).isTrue();
    assertThat(curl("http://127.0.0.1:" + port + "/")).noneMatch(l -> l.startsWith("http/"));
    assertThat(backend.requests.get()).isZero();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(stats(p)).contains(
        "downstream_cx_proxy_proto_error: 3", "proxy_proto.versions.v1.error: 1", "proxy_proto.versions.v2.error: 1",
        "proxy_proto.not_found_disallowed: 1"));
  }

  @Test
  void withoutAHeaderTheConnectionIsServedWhenAllowed() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    ProxyServer p = start(edge(backend.port(), dir.resolve("a.log"), "allow_requests_without_proxy_protocol: true\n"
        + "stat_prefix: edge"));
    int port = p.listenerAddress("ingress").getPort();
    assertThat(curl("--interface", CLIENT, "http://127.0.0.1:" + port + "/").getFirst()).startsWith("http/1.1 200");
    assertThat(backend.lastHeaders.get("x-forwarded-for")).isEqualTo(CLIENT);
    try (HaproxyProcess lb = proxies.keep(new HaproxyProcess(balancer(port, "send-proxy-v2")))) {
      assertThat(curl("--interface", CLIENT, "http://127.0.0.1:" + lb.port() + "/").getFirst()).startsWith("http/1.1 200");
    }
    assertThat(stats(p)).contains("proxy_proto.edge.not_found_allowed: 1", "proxy_proto.edge.versions.v2.found: 1");
  }

  @Test
  void disallowedVersionAndSilentClientAreClosed() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    String yaml = edge(backend.port(), dir.resolve("a.log"), "disallowed_versions: [V1]")
        .replaceFirst("    listener_filters:\n", "    listener_filters_timeout: 0.3s\n    listener_filters:\n");
    ProxyServer p = start(yaml);
    int port = p.listenerAddress("ingress").getPort();
    assertThat(closedAfter(port, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".getBytes(StandardCharsets.US_ASCII))).isTrue();
    long t0 = System.nanoTime();
    assertThat(closedAfter(port, "PROXY TCP4 1.2".getBytes(StandardCharsets.US_ASCII))).isTrue(); // then silence
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(9));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(stats(p)).contains(
        "proxy_proto.versions.v1.disallowed: 1", "listener.ingress.downstream_pre_cx_timeout: 1"));
    assertThat(backend.requests.get()).isZero();
  }

  @Test
  void aHeaderInASegmentOfItsOwnThenTheRequest() throws Exception {
    TestUpstream backend = proxies.keep(new TestUpstream("web"));
    ProxyServer p = start(edge(backend.port(), dir.resolve("a.log"), ""));
    byte[] header = ByteBufUtil.getBytes(ProxyProtocolHeaderTest.v2(0x21, 0x11,
        new byte[] {127, 0, 0, 5, 127, 0, 0, 1, (byte) 0xC3, 0x50, 0, 80}));
    for (int i = 0; i < 10; i++) { // HAProxy writes the header at connect, the client's bytes when they come
      try (Socket s = new Socket("127.0.0.1", p.listenerAddress("ingress").getPort())) {
        s.setSoTimeout(10_000);
        s.setTcpNoDelay(true);
        s.getOutputStream().write(header);
        s.getOutputStream().flush();
        Thread.sleep(30); // a segment of its own (the old code then closed the connection)
        s.getOutputStream().write("GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).as("connection %d", i)
            .startsWith("HTTP/1.1 200");
      }
    }
    assertThat(backend.lastHeaders.get("x-forwarded-for")).isEqualTo(CLIENT);
  }
}
