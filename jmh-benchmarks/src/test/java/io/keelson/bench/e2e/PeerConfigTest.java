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
}
