package io.keelson.bench.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PeerConfigTest {
  private final Tools tools = new Tools(false, new PrintStream(OutputStream.nullOutputStream()));

  @Test
  void upstreamBodyIsOneHundredBytes() {
    assertThat(NginxConf.BODY).hasSize(100);
  }

  @Test
  void nginxUpstreamConfigPassesNginxTest(@TempDir Path dir) throws Exception {
    String nginx = tools.find("nginx");
    assumeTrue(nginx != null, "nginx is not installed (Debian package nginx-light)");
    Path conf = NginxPeer.writeConfig(dir, NginxConf.upstream(dir, 18080, NginxPeer.modulesLeftOut(tools)));

    assertThat(Files.readString(conf)).contains("worker_processes 1;", "return 200", "listen 127.0.0.1:18080");
    assertValid(dir, List.of(nginx, "-t", "-p", dir.toString(), "-e", dir.resolve("error.log").toString(), "-c",
      conf.toString()));
  }

  @Test
  void nginxProxyConfigPassesNginxTestAndKeepsUpstreamConnectionsAlive(@TempDir Path dir) throws Exception {
    String nginx = tools.find("nginx");
    assumeTrue(nginx != null, "nginx is not installed (Debian package nginx-light)");
    String config = NginxConf.proxy(dir, 18081, "127.0.0.1", 18080, NginxPeer.modulesLeftOut(tools));
    Path conf = NginxPeer.writeConfig(dir, config);

    assertThat(config).contains("keepalive 64;", "proxy_http_version 1.1;", "proxy_set_header Connection \"\";",
      "server 127.0.0.1:18080;");
    assertValid(dir, List.of(nginx, "-t", "-p", dir.toString(), "-e", dir.resolve("error.log").toString(), "-c",
      conf.toString()));
  }

  @Test
  void nginxTempPathsFollowTheModulesTheBuildHas() {
    String withoutUwsgi = NginxConf.upstream(Path.of("/x"), 1, NginxConf.modulesLeftOut(
      "configure arguments: --with-cc-opt=-O2 --without-http_uwsgi_module --without-http_scgi_module"));

    assertThat(withoutUwsgi).contains("proxy_temp_path", "fastcgi_temp_path").doesNotContain("uwsgi_temp_path",
      "scgi_temp_path");
  }

  @Test
  void haproxyConfigPassesHaproxyCheck(@TempDir Path dir) throws Exception {
    String haproxy = tools.find("haproxy");
    assumeTrue(haproxy != null, "haproxy is not installed (Debian package haproxy)");
    String config = HaproxyConf.proxy(18082, "127.0.0.1", 18080);
    Path conf = dir.resolve("haproxy.cfg");
    Files.writeString(conf, config);

    assertThat(config).contains("nbthread 1", "http-reuse always", "bind 127.0.0.1:18082");
    assertValid(dir, List.of(haproxy, "-c", "-f", conf.toString()));
  }

  @Test
  void observedKeelsonBootstrapLoadsWithAnAccessLogAndTracing() throws Exception {
    java.nio.file.Path log = java.nio.file.Path.of("/tmp/bench-access.log");
    var snapshot = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        KeelsonBootstrap.proxy(18083, "127.0.0.1", 18080, log), "keelson.yaml");
    var hcm = snapshot.listeners().get(0).http();
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(hcm.accessLogs()).hasSize(1);
    assertThat(hcm.accessLogs().get(0).path()).isEqualTo(log.toString());
    assertThat(hcm.tracing().samplingPercent()).isEqualTo(1.0);
    assertThat(hcm.tracing().collectorCluster()).isNull();
  }

  @Test
  void tracedKeelsonBootstrapExportsToTheOtlpClusterAtTheGivenSamplingRate() throws Exception {
    java.nio.file.Path log = java.nio.file.Path.of("/tmp/bench-access.log");
    var snapshot = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(KeelsonBootstrap.observedProxy(18083, "127.0.0.1",
        18080, new KeelsonBootstrap.Observed(log, 100, 18090), false), "keelson.yaml");
    var hcm = snapshot.listeners().get(0).http();
    assertThat(snapshot.warnings()).isEmpty();
    assertThat(hcm.accessLogs()).hasSize(1);
    assertThat(hcm.tracing().samplingPercent()).isEqualTo(100.0);
    assertThat(hcm.tracing().collectorCluster()).isEqualTo("otel");
    assertThat(snapshot.cluster("otel").endpoints()).hasSize(1);
    assertThat(snapshot.cluster("upstream").endpoints()).hasSize(1);
  }

  @Test
  void otlpSinkAcceptsExportsFromTheProxysExporterAndReportsTheCount(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    java.nio.file.Path report = dir.resolve("otlp-sink.txt");
    var sink = io.keelson.testkit.OtlpCollector.countingOnly();
    try (AutoCloseable closing = KeelsonPeer.reportingOnClose(sink, report);
        var export = new io.keelson.dataplane.tracing.SpanExport("127.0.0.1", sink.port(), "bench-test")) {
      var span = export.start("GET", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null,
          System.currentTimeMillis() * 1_000_000);
      io.keelson.dataplane.tracing.SpanExport.end(span, 200, "-", "upstream", "127.0.0.1:1");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> sink.requests() >= 1);
    }
    assertThat(java.nio.file.Files.readString(report)).startsWith("OTLP export requests received: ");
  }

  @Test
  void resilientKeelsonBootstrapLoadsWithRetriesOutlierDetectionAndBreakers() throws Exception {
    var snapshot = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        KeelsonBootstrap.proxy(18083, "127.0.0.1", 18080, null, true), "keelson.yaml");
    assertThat(snapshot.warnings()).isEmpty();
    var route = snapshot.listeners().get(0).http().routeConfig().virtualHosts().get(0).routes().get(0);
    var forward = (io.keelson.dataplane.config.RouteAction.Forward) route.action();
    assertThat(forward.retryPolicy().numRetries()).isEqualTo(2);
    assertThat(forward.retryPolicy().previousHostsPredicate()).isTrue();
    var cluster = snapshot.cluster("upstream");
    assertThat(cluster.outlierDetection().consecutive5xx()).isEqualTo(5);
    assertThat(cluster.circuitBreakers().defaultPriority().maxRequests()).isEqualTo(10000);
    assertThat(cluster.endpoints()).hasSize(1);
  }

  @Test
  void keelsonBootstrapIsAValidEnvoyV3Bootstrap() throws Exception {
    String yaml = KeelsonBootstrap.proxy(18083, "127.0.0.1", 18080);
    String json = new ObjectMapper().writeValueAsString(new ObjectMapper(new YAMLFactory()).readTree(yaml));
    JsonFormat.TypeRegistry types = JsonFormat.TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor()).add(Router.getDescriptor()).build();
    Bootstrap.Builder b = Bootstrap.newBuilder();

    JsonFormat.parser().usingTypeRegistry(types).merge(json, b);

    var listener = b.getStaticResources().getListeners(0);
    assertThat(listener.getAddress().getSocketAddress().getPortValue()).isEqualTo(18083);
    HttpConnectionManager hcm = listener.getFilterChains(0).getFilters(0).getTypedConfig()
      .unpack(HttpConnectionManager.class);
    assertThat(hcm.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster()).isEqualTo("upstream");
    var endpoint = b.getStaticResources().getClusters(0).getLoadAssignment().getEndpoints(0).getLbEndpoints(0)
      .getEndpoint().getAddress().getSocketAddress();
    assertThat(endpoint.getAddress()).isEqualTo("127.0.0.1");
    assertThat(endpoint.getPortValue()).isEqualTo(18080);
  }

  @Test
  void keelsonVersionNamesTheCommitOfTheCheckout(@TempDir Path dir) {
    Path repo = Path.of(System.getProperty("keelson.home", "..")).toAbsolutePath();
    assumeTrue(Files.isDirectory(repo.resolve(".git")) || Files.isRegularFile(repo.resolve(".git")),
        "not running from a git checkout");

    assertThat(KeelsonPeer.gitRevision(repo)).matches("commit [0-9a-f]{7,40}(\\+dirty)?");
    assertThat(KeelsonPeer.gitRevision(dir)).isEqualTo("(not a git checkout)");
  }

  private static void assertValid(Path dir, List<String> command) throws Exception {
    Path log = dir.resolve("check.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s said: %s", command, Files.readString(log)).isZero();
  }

  private static MeshBenchCerts meshCerts(Path dir) throws Exception {
    try {
      return MeshBenchCerts.create(dir.resolve("certs"));
    } catch (PeerStartException e) {
      assumeTrue(false, "openssl CLI unavailable: " + e.getMessage());
      throw e;
    }
  }

  @Test
  void meshBenchCertificatesCarryTheSpiffeUriSansAndChainToTheirCa(@TempDir Path dir) throws Exception {
    MeshBenchCerts certs = meshCerts(dir);
    var cf = java.security.cert.CertificateFactory.getInstance("X.509");
    java.security.cert.X509Certificate ca;
    java.security.cert.X509Certificate a;
    try (var in = Files.newInputStream(certs.ca()); var inA = Files.newInputStream(certs.aCert())) {
      ca = (java.security.cert.X509Certificate) cf.generateCertificate(in);
      a = (java.security.cert.X509Certificate) cf.generateCertificate(inA);
    }

    a.verify(ca.getPublicKey());
    assertThat(a.getSubjectAlternativeNames()).as("URI SAN (type 6)")
        .contains(List.<Object>of(6, MeshBenchCerts.SPIFFE_A));
    assertThat(a.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(Files.readString(certs.bKey())).contains("BEGIN PRIVATE KEY");
  }

  @Test
  void twoHopMtlsKeelsonBootstrapsLoadAsStrictMtlsWithSpiffeSanChecks(@TempDir Path dir) throws Exception {
    MeshBenchCerts certs = meshCerts(dir);
    var b = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        KeelsonBootstrap.twoHopB(18085, "127.0.0.1", 18080, certs), "hop-b.yaml");
    var a = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        KeelsonBootstrap.twoHopA(18084, 18085, certs), "hop-a.yaml");

    assertThat(b.warnings()).isEmpty();
    assertThat(a.warnings()).isEmpty();
    var server = b.listeners().get(0).tls().config();
    assertThat(server.requireClientCert()).isTrue();
    assertThat(server.trustedCa()).isNotNull();
    assertThat(server.clientSans()).singleElement().satisfies(m -> {
      assertThat(m.type()).isEqualTo(io.keelson.dataplane.tls.SanMatcher.Type.URI);
      assertThat(m.value()).isEqualTo(MeshBenchCerts.SPIFFE_A);
    });
    assertThat(b.cluster("upstream").tls()).as("hop B to the upstream is plaintext").isNull();
    var client = a.cluster("upstream").tls().config();
    assertThat(client.certificateChain()).as("A presents a client certificate").isNotNull();
    assertThat(client.sni()).isEqualTo("localhost");
    assertThat(client.serverSans()).singleElement().satisfies(m -> {
      assertThat(m.type()).isEqualTo(io.keelson.dataplane.tls.SanMatcher.Type.URI);
      assertThat(m.value()).isEqualTo(MeshBenchCerts.SPIFFE_B);
    });
    assertThat(a.cluster("upstream").endpoints()).hasSize(1);
    assertThat(a.listeners().get(0).tls()).as("wrk to hop A is plaintext").isNull();
  }

  @Test
  void twoHopPlaintextKeelsonBootstrapsChainAToBWithoutTls() throws Exception {
    var a = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(KeelsonBootstrap.twoHopA(18084, 18085, null), "a");
    var b = io.keelson.dataplane.config.envoy.BootstrapLoader.fromYaml(
        KeelsonBootstrap.twoHopB(18085, "127.0.0.1", 18080, null), "b");

    assertThat(a.cluster("upstream").tls()).isNull();
    assertThat(b.listeners().get(0).tls()).isNull();
    assertThat(KeelsonBootstrap.twoHopA(18084, 18085, null)).contains("port_value: 18085");
  }

  @Test
  void twoHopMtlsNginxConfigsPassNginxTestWithProxySslAndClientVerification(@TempDir Path dir) throws Exception {
    String nginx = tools.find("nginx");
    assumeTrue(nginx != null, "nginx is not installed (Debian package nginx-light)");
    MeshBenchCerts certs = meshCerts(dir);
    Path dirA = dir.resolve("a");
    Path dirB = dir.resolve("b");
    String confA = NginxConf.twoHopA(dirA, 18086, 18087, NginxPeer.modulesLeftOut(tools), certs);
    String confB = NginxConf.twoHopB(dirB, 18087, "127.0.0.1", 18080, NginxPeer.modulesLeftOut(tools), certs);

    assertThat(confA).contains("proxy_pass https://backend;", "proxy_ssl_certificate " + certs.aCert() + ";",
        "proxy_ssl_certificate_key " + certs.aKey() + ";", "proxy_ssl_trusted_certificate " + certs.ca() + ";",
        "proxy_ssl_verify on;", "proxy_ssl_session_reuse on;", "server 127.0.0.1:18087;", "keepalive 64;");
    assertThat(confB).contains("listen 127.0.0.1:18087 backlog=4096 ssl;", "ssl_certificate " + certs.bCert() + ";",
        "ssl_client_certificate " + certs.ca() + ";", "ssl_verify_client on;", "server 127.0.0.1:18080;");
    for (var pair : List.of(List.of(dirA.toString(), confA), List.of(dirB.toString(), confB))) {
      Path d = Path.of(pair.get(0));
      Path conf = NginxPeer.writeConfig(d, pair.get(1));
      assertValid(d, List.of(nginx, "-t", "-p", d.toString(), "-e", d.resolve("error.log").toString(), "-c",
          conf.toString()));
    }
  }

  @Test
  void twoHopPlaintextNginxConfigsProxyOverHttp() {
    String confA = NginxConf.twoHopA(Path.of("/x/a"), 18086, 18087, java.util.Set.of(), null);
    String confB = NginxConf.twoHopB(Path.of("/x/b"), 18087, "127.0.0.1", 18080, java.util.Set.of(), null);

    assertThat(confA).contains("proxy_pass http://backend;", "server 127.0.0.1:18087;").doesNotContain("proxy_ssl");
    assertThat(confB).doesNotContain(" ssl;", "ssl_verify_client");
  }

  @Test
  void twoHopPairRunsAsOneProcessTreeWithBInTheBackground() {
    assertThat(TwoHopPeer.pairCommand(List.of("nginx", "-c", "/a dir/a.conf"), List.of("nginx", "-c", "/b.conf")))
        .containsExactly("sh", "-c", "nginx -c /b.conf & exec nginx -c '/a dir/a.conf'");
  }
}
