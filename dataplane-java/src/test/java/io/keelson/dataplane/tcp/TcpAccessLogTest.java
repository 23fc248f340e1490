package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TcpExchange.TlsReply;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envoy's tcp_proxy {@code access_log} and a listener's {@code access_log} through a running proxy with real
 * sockets: one entry per downstream connection when it ends, text and JSON, file and stdout, flags for failures.
 */
class TcpAccessLogTest {
  @TempDir Path dir;
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private static final String FIELDS = "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %UPSTREAM_HOST% %UPSTREAM_CLUSTER%"
      + " %RESPONSE_FLAGS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS% %UPSTREAM_LOCAL_ADDRESS%"
      + " %REQUESTED_SERVER_NAME% %REQ(:METHOD)% %PROTOCOL% %RESPONSE_CODE% %START_TIME%";

  /** A file access log (indented for a tcp_proxy's typed_config) with a text format. */
  static String fileLog(Path file, String format) {
    return """
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: %s
                      log_format:
                        text_format_source:
                          inline_string: "%s\\n"
        """.formatted(file, format);
  }

  /** Starts a proxy whose access log writer is {@code logs} (set before the listeners are bound). */
  private ProxyServer start(String yaml, AccessLogService logs) throws Exception {
    ProxyServer p = new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(2).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1)));
    if (logs != null) {
      p.context().accessLogService(logs);
    }
    return proxies.keep(p.start());
  }

  @Test
  void logsEachRelayedConnectionInTextToAFileAndInJsonToStdout() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("tcp.log");
    String json = """
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                      log_format:
                        json_format:
                          rx: "%BYTES_RECEIVED%"
                          tx: "%BYTES_SENT%"
                          duration: "%DURATION%"
                          host: "%UPSTREAM_HOST%"
                          cluster: "%UPSTREAM_CLUSTER%"
                          flags: "%RESPONSE_FLAGS%"
                          method: "%REQ(:METHOD)%"
        """;
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ProxyServer p = start(TcpProxyTest.tcpListener("          cluster: a\n" + fileLog(log, FIELDS) + json,
        cluster("a", "ROUND_ROBIN", a.port())), new AccessLogService(1024, stdout));
    int port = p.listenerAddress("tcp").getPort();
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(s.getInputStream().readNBytes(6), StandardCharsets.US_ASCII)).isEqualTo("a:ping");
      Thread.sleep(120); // a connection that lasts: the duration must show it
      s.getOutputStream().write("12345".getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("12345|bye");
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1
        && stdout.toString(StandardCharsets.UTF_8).lines().count() == 1);
    String line = Files.readAllLines(log).getFirst();
    // 9 bytes up ("ping12345"), 15 down ("a:ping12345|bye"); HTTP-only operators are "-", the response code 0.
    assertThat(line).matches("9 15 (\\d+) \\Q127.0.0.1:" + a.port() + "\\E a - 127\\.0\\.0\\.1 \\Q127.0.0.1:" + port
        + "\\E 127\\.0\\.0\\.1:\\d+ - - - 0 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    assertThat(Long.parseLong(line.split(" ")[2])).isBetween(100L, 5_000L);
    JsonNode entry = new ObjectMapper().readTree(stdout.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow());
    assertThat(entry.get("rx").isInt()).isTrue();
    assertThat(entry.get("rx").asInt()).isEqualTo(9);
    assertThat(entry.get("tx").asInt()).isEqualTo(15);
    assertThat(entry.get("duration").asLong()).isBetween(100L, 5_000L);
    assertThat(entry.get("host").asText()).isEqualTo("127.0.0.1:" + a.port());
    assertThat(entry.get("cluster").asText()).isEqualTo("a");
    assertThat(entry.get("flags").asText()).isEqualTo("-");
    assertThat(entry.get("method").isNull()).as("an HTTP-only operator in JSON").isTrue();
  }

  @Test
  void envoysDefaultFormatWhenNoneIsGiven() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("default.log");
    String logs = """
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: %s
        """.formatted(log);
    ProxyServer p = start(TcpProxyTest.tcpListener("          cluster: a\n" + logs, cluster("a", "ROUND_ROBIN", a.port())), null);
    assertThat(TcpExchange.plain(p.listenerAddress("tcp").getPort(), "ping")).isEqualTo("a:ping|bye");
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);
    assertThat(Files.readAllLines(log).getFirst()).matches(
        "\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] \"- - -\" 0 - 4 10 \\d+ - \"-\" \"-\" \"-\" \"-\" \"\\Q127.0.0.1:"
            + a.port() + "\\E\"");
  }

  @Test
  void flushAccessLogOnConnectedAddsAnEntryWhenTheUpstreamConnects() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("connected.log");
    String yaml = TcpProxyTest.tcpListener("          cluster: a\n"
        + "          access_log_options: { flush_access_log_on_connected: true }\n"
        + fileLog(log, "%BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_HOST%"), cluster("a", "ROUND_ROBIN", a.port()));
    ProxyServer p = start(yaml, null);
    assertThat(TcpExchange.plain(p.listenerAddress("tcp").getPort(), "ping")).isEqualTo("a:ping|bye");
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 2);
    String host = "127.0.0.1:" + a.port();
    // On connect: the bytes read so far (none or the early "ping"), nothing sent yet; at the end: everything.
    assertThat(Files.readAllLines(log)).satisfiesExactly(
        first -> assertThat(first).matches("[04] 0 \\Q" + host + "\\E"),
        last -> assertThat(last).isEqualTo("4 10 " + host));
  }

  @Test
  void accessLogFlushIntervalWritesEntriesWhileALongConnectionRelays() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("periodic.log");
    String yaml = TcpProxyTest.tcpListener("          cluster: a\n"
        + "          access_log_options: { access_log_flush_interval: 0.2s }\n"
        + fileLog(log, "%BYTES_RECEIVED% %BYTES_SENT%"), cluster("a", "ROUND_ROBIN", a.port()));
    assertThat(BootstrapLoader.fromYaml(yaml, "test.yaml").warnings()).isEmpty();
    ProxyServer p = start(yaml, null);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(s.getInputStream().readNBytes(6), StandardCharsets.US_ASCII)).isEqualTo("a:ping");
      // While the connection stays open, entries with the totals so far appear every 0.2 s.
      await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() >= 2);
      s.shutdownOutput();
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("|bye");
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(log).contains("4 10"));
    Thread.sleep(500); // no periodic entry after the final one
    List<String> lines = Files.readAllLines(log);
    assertThat(lines.getLast()).isEqualTo("4 10");
    assertThat(lines.subList(0, lines.size() - 1)).hasSizeGreaterThanOrEqualTo(2).allSatisfy(l -> assertThat(l).isEqualTo("4 6"));
  }

  /** One more file log entry (indented as {@link #fileLog}'s) with an access-log {@code filter}. */
  private static String filteredLog(Path file, String filter) {
    return io.keelson.dataplane.testing.ProxyHarness.filteredFileLog(file, filter,
        "%BYTES_RECEIVED% %BYTES_SENT% %RESPONSE_FLAGS%\\n").indent(10);
  }

  @Test
  void filtersSelectTcpEntriesByLogTypeAndFlagsAndAStatusFilterSeesCodeZero() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path all = dir.resolve("all.log");
    Path connected = dir.resolve("connected.log");
    Path flagged = dir.resolve("flagged.log");
    Path failing = dir.resolve("failing.log");
    Path zero = dir.resolve("zero.log");
    Path cel = dir.resolve("cel.log");
    String yaml = TcpProxyTest.tcpListener("          cluster: a\n"
        + "          access_log_options: { flush_access_log_on_connected: true }\n"
        + fileLog(all, "%BYTES_RECEIVED% %BYTES_SENT% %RESPONSE_FLAGS%")
        + filteredLog(connected, "{ log_type_filter: { types: [TcpUpstreamConnected] } }")
        + filteredLog(flagged, "{ response_flag_filter: {} }")
        + filteredLog(failing, "{ status_code_filter: { comparison: { op: GE, value: { default_value: 400 } } } }")
        + filteredLog(zero, "{ and_filter: { filters: [ { status_code_filter: { comparison: { value: { default_value: 0 } } } },"
            + " { log_type_filter: { types: [TcpUpstreamConnected], exclude: true } } ] } }")
        + filteredLog(cel, "{ extension_filter: { name: envoy.access_loggers.extension_filters.cel, typed_config: {"
            + " \"@type\": type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter,"
            + " expression: \"response.code >= 400 || request.size == 4 && response.size == 10\" } } }"),
        cluster("a", "ROUND_ROBIN", a.port()));
    ProxyServer p = start(yaml, null);
    assertThat(TcpExchange.plain(p.listenerAddress("tcp").getPort(), "ping")).isEqualTo("a:ping|bye");
    await().atMost(Duration.ofSeconds(5)).until(() -> lines(all).size() == 2 && lines(connected).size() == 1
        && lines(zero).size() == 1 && lines(cel).size() == 1);
    assertThat(lines(connected)).singleElement().asString().matches("[04] 0 -");
    assertThat(lines(zero)).containsExactly("4 10 -"); // the end entry: code 0 as Envoy's, not the connected one
    assertThat(lines(cel)).containsExactly("4 10 -"); // response.code is missing on TCP: the || decides
    assertThat(lines(flagged)).isEmpty();
    assertThat(lines(failing)).isEmpty();
  }

  private static List<String> lines(Path p) throws java.io.IOException {
    return Files.exists(p) ? Files.readAllLines(p) : List.of();
  }

  @Test
  void aFailedUpstreamConnectIsLoggedWithUf() throws Exception {
    int dead = io.keelson.dataplane.testing.TestUpstream.closedPort();
    Path log = dir.resolve("uf.log");
    ProxyServer p = start(TcpProxyTest.tcpListener("          cluster: a\n" + fileLog(log, FIELDS),
        cluster("a", "ROUND_ROBIN", dead)), null);
    try (Socket s = new Socket("127.0.0.1", p.listenerAddress("tcp").getPort())) {
      s.setSoTimeout(10_000);
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);
    assertThat(Files.readAllLines(log).getFirst())
        .matches("0 0 \\d+ \\Q127.0.0.1:" + dead + "\\E a UF 127\\.0\\.0\\.1 127\\.0\\.0\\.1:\\d+ - - - - 0 .*");
  }

  @Test
  void aConnectionNoFilterChainMatchesIsLoggedByTheListenerWithNr() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("listener.log");
    String yaml = """
        static_resources:
          listeners:
          - name: inbound
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            access_log:
            - name: envoy.access_loggers.file
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                path: %s
                log_format:
                  text_format_source:
                    inline_string: "%%RESPONSE_FLAGS%% %%DOWNSTREAM_LOCAL_ADDRESS%% %%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%% %%BYTES_RECEIVED%% %%UPSTREAM_HOST%%\\n"
            filter_chains:
            - filter_chain_match: { destination_port: 1 }
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: only_port_1
                  cluster: a
          clusters:
        %s
        """.formatted(log, cluster("a", "ROUND_ROBIN", a.port()).stripTrailing());
    ProxyServer p = start(yaml, null);
    int port = p.listenerAddress("inbound").getPort();
    assertThat(TcpExchange.plain(port, "ping")).isIn("", TcpExchange.CLOSED);
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);
    assertThat(Files.readAllLines(log).getFirst()).isEqualTo("NR 127.0.0.1:" + port + " 127.0.0.1 0 -");
    assertThat(a.connections.get()).isZero();
    assertThat(RunningProxies.admin(p, "/stats")).contains("listener.inbound.no_filter_chain_match: 1");
  }

  @Test
  void aListenerAccessLogIsTranslatedWhereItIsWrittenAndWarnedAboutElsewhere() throws Exception {
    String address = "    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n";
    String listenerLog = address + """
            access_log:
            - name: envoy.access_loggers.stdout
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
        """;
    String plain = TcpProxyTest.tcpListener("          cluster: a\n", cluster("a", "ROUND_ROBIN", 9));
    var single = BootstrapLoader.fromYaml(plain.replace(address, listenerLog), "test.yaml");
    assertThat(single.warnings()).singleElement().asString()
        .contains("static_resources.listeners[0].access_log").contains("only for connections it closes without a filter chain");
    var byDestination = BootstrapLoader.fromYaml(plain.replace(address, listenerLog)
        .replace("    - filters:\n", "    - filter_chain_match: { destination_port: 1 }\n      filters:\n"), "test.yaml");
    assertThat(byDestination.warnings()).isEmpty();
    assertThat(byDestination.listeners().getFirst().destinationChains().accessLogs()).singleElement()
        .satisfies(c -> assertThat(c.path()).isNull()); // stdout
  }

  @Test
  void tlsPassedThroughBySniLogsTheRequestedServerName() throws Exception {
    TestCa ca = new TestCa("sni-log-ca");
    TestCa.Leaf cert = ca.issue("a.test", "a.test");
    EchoServer a = proxies.keep(new EchoServer("a", SslContextBuilder.forServer(cert.key(), cert.cert()).build()));
    Path log = dir.resolve("sni.log");
    String chain = TlsYaml.passthroughChain("server_names: [\"a.test\"]", "", "sni_a", "a");
    chain = chain.stripTrailing() + "\n" + fileLog(log, "%REQUESTED_SERVER_NAME% %UPSTREAM_CLUSTER% %RESPONSE_FLAGS%");
    ProxyServer p = start(TlsYaml.sniListener("tls", chain, cluster("a", "ROUND_ROBIN", a.port())), null);
    assertThat(TcpExchange.tls(ca.clientContext(), p.listenerAddress("tls").getPort(), "a.test"))
        .isEqualTo(new TlsReply("CN=a.test", "a:hi"));
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);
    assertThat(Files.readAllLines(log).getFirst()).isEqualTo("a.test a -");
  }

  @Test
  void aTerminatedMutualTlsConnectionLogsTheTlsVersionAndThePeerUriSan() throws Exception {
    TestCa ca = new TestCa("mtls-log-ca");
    Path certs = Files.createTempDirectory(dir, "certs");
    Path cert = ca.issue("proxy", "a.test").write(certs, "proxy");
    ca.write(certs, "ca.crt");
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path log = dir.resolve("mtls.log");
    String yaml = TcpProxyTest.tcpListener("          cluster: a\n"
        + fileLog(log, "%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_PEER_URI_SAN% %REQUESTED_SERVER_NAME% %BYTES_RECEIVED%"),
        cluster("a", "ROUND_ROBIN", a.port())).replace("    - filters:\n", """
            - transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  require_client_certificate: true
                  common_tls_context:
                    tls_certificates: [ { certificate_chain: { filename: "%s" }, private_key: { filename: "%s" } } ]
                    validation_context:
                      trusted_ca: { filename: "%s" }
              filters:
        """.formatted(cert, certs.resolve("proxy.key"), certs.resolve("ca.crt")));
    ProxyServer p = start(yaml, null);
    var client = ca.issue("client", "spiffe://test/ns/default/sa/client").clientContext(ca);
    assertThat(TcpExchange.tls(client, p.listenerAddress("tcp").getPort(), "a.test").echo()).isEqualTo("a:hi");
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);
    // The bytes are the decrypted ones; no TLS inspector ran on this listener, so no requested server name.
    assertThat(Files.readAllLines(log).getFirst()).matches("TLSv1\\.[23] \\Qspiffe://test/ns/default/sa/client\\E - 2");
  }

  @Test
  void aStalledLogSinkNeverBlocksConnectionsAndDropsAreCounted() throws Exception {
    EchoServer a = proxies.keep(new EchoServer("a", null));
    Path fifo = dir.resolve("stalled.fifo");
    assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
    AccessLogService small = new AccessLogService(16);
    ProxyServer p = start(TcpProxyTest.tcpListener("          cluster: a\n" + fileLog(fifo, "%BYTES_RECEIVED%"),
        cluster("a", "ROUND_ROBIN", a.port())), small);
    int port = p.listenerAddress("tcp").getPort();
    long start = System.nanoTime();
    for (int i = 0; i < 100; i++) {
      assertThat(TcpExchange.plain(port, "p" + i)).isEqualTo("a:p" + i + "|bye");
    }
    long elapsedMs = (System.nanoTime() - start) / 1_000_000;
    // Nobody reads the FIFO: the writer is stuck opening it, the ring (16) fills, the rest is dropped.
    await().atMost(Duration.ofSeconds(5)).until(() -> small.dropped.sum() + small.backlog() >= 100 - 1);
    assertThat(small.dropped.sum()).isGreaterThanOrEqualTo(100 - 16 - 1);
    assertThat(small.written.sum()).isZero();
    assertThat(elapsedMs).as("100 connections with a stalled log").isLessThan(10_000);
    assertThat(RunningProxies.admin(p, "/stats/prometheus")).contains("keelson_access_log_dropped " + small.dropped.sum());
    try (InputStream in = new FileInputStream(fifo.toFile())) { // unblock the writer so its thread ends
      await().atMost(Duration.ofSeconds(5)).until(() -> small.written.sum() > 0);
      in.readNBytes(in.available());
    }
  }
}
