package io.keelson.dataplane.tcp;

import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TcpExchange;
import io.keelson.dataplane.testing.TcpExchange.TlsReply;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One TLS listener whose filter chains, all selected by {@code server_names}, run different network filters (an Istio
 * gateway port with HTTPS, terminating TLS and PASSTHROUGH servers): an HTTPS chain ({@code *.example.test}, an HTTP
 * connection manager) beside a terminating tcp_proxy chain ({@code db.example.test}: the exact name beats the
 * wildcard), a passthrough chain and a terminating chain without server_names (a client sending no SNI, or a name no
 * chain names). curl speaks HTTP/1.1 and HTTP/2 to the HTTPS chain; each client trusts only its chain's CA. Both
 * pipeline wirings. Real sockets.
 */
class SniHttpsBesideTcpChainsTest {
  @TempDir Path dir;
  private final RunningProxies proxies = new RunningProxies();

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private String tls(String cert) {
    return """
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                  common_tls_context:
                    alpn_protocols: [ h2, http/1.1 ]
                    tls_certificates:
                    - certificate_chain: { filename: "%s" }
                      private_key: { filename: "%s" }
        """.formatted(dir.resolve(cert + ".crt"), dir.resolve(cert + ".key"));
  }

  private String terminating(String match, String cert, String cluster) {
    return "    - name: " + cluster + "\n      filter_chain_match: { " + match + " }\n" + tls(cert).replace(
        "            alpn_protocols: [ h2, http/1.1 ]\n", "") + """
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: %s
                  cluster: %s
        """.formatted(cluster, cluster);
  }

  private String https(String match, String cert, String cluster) {
    return "    - name: web\n      filter_chain_match: { " + match + " }\n" + tls(cert) + """
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: web
                  route_config:
                    name: web
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes: [ { match: { prefix: "/" }, route: { cluster: %s } } ]
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        """.formatted(cluster);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void httpsAndTcpProxyChainsShareAListenerBySni(PipelineMode mode) throws Exception {
    TestCa webCa = new TestCa("web-ca");
    TestCa dbCa = new TestCa("db-ca");
    TestCa passCa = new TestCa("pass-ca");
    TestCa fallbackCa = new TestCa("fallback-ca");
    webCa.issue("wild.example.test", "*.example.test").write(dir, "web");
    dbCa.issue("db.example.test", "db.example.test").write(dir, "db");
    fallbackCa.issue("fallback.test", "fallback.test").write(dir, "fallback");
    Path webCaFile = webCa.write(dir, "web-ca.pem");
    TestCa.Leaf pass = passCa.issue("pass.example.test", "pass.example.test");
    EchoServer d = proxies.keep(new EchoServer("d", null));
    EchoServer f = proxies.keep(new EchoServer("f", null));
    EchoServer p = proxies.keep(new EchoServer("p", SslContextBuilder.forServer(pass.key(), pass.cert()).build()));
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", x -> {
      byte[] body = ("app saw " + x.getRequestHeaders().getFirst("Host")).getBytes(StandardCharsets.US_ASCII);
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    app.start();
    proxies.keep(() -> app.stop(0));
    String yaml = TlsYaml.sniListener("tls",
        https("server_names: [\"*.example.test\"]", "web", "app")
            + terminating("server_names: [\"db.example.test\"]", "db", "db")
            + TlsYaml.passthroughChain("server_names: [\"pass.example.test\"]", "", "pass", "pass")
            + terminating("", "fallback", "fallback"),
        cluster("app", "ROUND_ROBIN", app.getAddress().getPort()) + cluster("db", "ROUND_ROBIN", d.port())
            + cluster("pass", "ROUND_ROBIN", p.port()) + cluster("fallback", "ROUND_ROBIN", f.port()));
    ProxyServer proxy = proxies.keep(new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(2).withPipeline(mode).withAdmin("127.0.0.1", 0)).start());
    int port = proxy.listenerAddress("tls").getPort();

    for (String version : List.of("--http1.1", "--http2")) {
      String out = curl(version, "--resolve", "shop.example.test:" + port + ":127.0.0.1", "--cacert",
          webCaFile.toString(), "https://shop.example.test:" + port + "/x");
      assertThat(out).as(version).contains("app saw shop.example.test").contains(version.equals("--http2")
          ? "HTTP/2 200" : "HTTP/1.1 200");
    }
    assertThat(TcpExchange.tls(dbCa.clientContext(), port, "db.example.test")).as("exact beats *.example.test")
        .isEqualTo(new TlsReply("CN=db.example.test", "d:hi"));
    assertThat(TcpExchange.tls(passCa.clientContext(), port, "pass.example.test")).as("passed through")
        .isEqualTo(new TlsReply("CN=pass.example.test", "p:hi"));
    assertThat(TcpExchange.tls(fallbackCa.clientContext(), port, null)).as("no SNI: the chain without server_names")
        .isEqualTo(new TlsReply("CN=fallback.test", "f:hi"));
    assertThat(TcpExchange.tls(fallbackCa.clientContext(), port, "other.test")).as("a name no chain names")
        .isEqualTo(new TlsReply("CN=fallback.test", "f:hi"));
    assertThat(TcpExchange.tls(dbCa.clientContext(), port, "shop.example.test")).as("the HTTPS chain's certificate")
        .isEqualTo(new TlsReply(null, TcpExchange.CLOSED));
    assertThat(d.connections.get()).isEqualTo(1);
    assertThat(p.connections.get()).isEqualTo(1);
  }

  @org.junit.jupiter.api.Test
  void aPlaintextHttpChainBesideTcpProxyChainsIsRefusedNamingTheChain() throws Exception {
    new TestCa("db-ca").issue("db.example.test", "db.example.test").write(dir, "db");
    String plaintextHttps = https("server_names: [\"*.example.test\"]", "db", "app").replaceAll(
        "(?s)      transport_socket:.*?(      filters:)", "$1");
    String yaml = TlsYaml.sniListener("tls", plaintextHttps + terminating("server_names: [\"db.example.test\"]", "db",
        "db"), cluster("app", "ROUND_ROBIN", 1) + cluster("db", "ROUND_ROBIN", 2));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "test.yaml"))
        .hasMessageContaining("static_resources.listeners[0].filter_chains[0].transport_socket: listener 'tls': an HTTP"
            + " chain selected by server_names beside tcp_proxy chains must terminate TLS");
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(15, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
