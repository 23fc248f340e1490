package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.AdminConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.HeaderMutations.HeaderValue;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.TcpProxyConfig;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.route.TestRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapLoaderTest {

  static String fixture(String name) {
    try (InputStream in = BootstrapLoaderTest.class.getResourceAsStream("/envoy/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static StaticBootstrap frontProxy() throws ConfigException {
    return BootstrapLoader.parseBootstrap(fixture("front-proxy.yaml"), "front-proxy.yaml");
  }

  @Test
  void loadsFileAndNamesItInMessages(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, fixture("front-proxy.yaml"));
    ProxySnapshot snapshot = BootstrapLoader.load(file);
    assertThat(snapshot.version()).isEqualTo("static");
    assertThat(snapshot.listeners()).extracting(ListenerConfig::name).containsExactly("listener_http", "listener_tcp");
    assertThat(snapshot.warnings()).allSatisfy(w -> assertThat(w).startsWith("config.yaml: "));
  }

  @Test
  void missingFileIsAConfigErrorNamingTheFile(@TempDir Path dir) {
    Path file = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> BootstrapLoader.load(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(file + ": cannot read the config file");
  }

  @Test
  void translatesHttpListenerAndConnectionManager() throws Exception {
    ListenerConfig http = frontProxy().snapshot().listeners().get(0);
    assertThat(http.host()).isEqualTo("0.0.0.0");
    assertThat(http.port()).isEqualTo(10000);
    assertThat(http.tcpProxy()).isNull();
    HttpConnectionManagerConfig hcm = http.http();
    assertThat(hcm.statPrefix()).isEqualTo("ingress_http");
    assertThat(hcm.useRemoteAddress()).isTrue();
    assertThat(hcm.generateRequestId()).isFalse();
    assertThat(hcm.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(hcm.idleTimeout()).isEqualTo(Duration.ofSeconds(300));
    assertThat(hcm.streamIdleTimeout()).as("Envoy's stream_idle_timeout default").isEqualTo(Duration.ofMinutes(5));
    assertThat(hcm.limits()).isEqualTo(new HttpLimits(HttpLimits.DEFAULT.maxRequestLineBytes(), 32 * 1024, 50));
  }

  @Test
  void translatesRouteConfigurationAndHeaderMutationsAtEveryLevel() throws Exception {
    RouteConfig rc = frontProxy().snapshot().listeners().get(0).http().routeConfig();
    assertThat(rc.name()).isEqualTo("local_route");
    assertThat(rc.requestHeaders().add()).containsExactly(new HeaderValue("x-proxy", "keelson", true));
    assertThat(rc.responseHeaders().remove()).containsExactly("server");
    assertThat(rc.virtualHosts()).extracting(VirtualHostConfig::name).containsExactly("api", "legacy", "catch-all");
    VirtualHostConfig api = rc.virtualHosts().get(0);
    assertThat(api.domains()).containsExactly("api.example.com", "api.example.com:8443");
    assertThat(api.requestHeaders().add()).containsExactly(new HeaderValue("x-vhost", "api", false));
    assertThat(api.routes()).extracting(RouteEntry::name)
        .containsExactly("v2-by-header", "delete-blocked", "debug-query", "items-by-id", "canary");

    RouteAction.Forward canary = (RouteAction.Forward) api.routes().get(4).action();
    assertThat(canary.totalWeight()).isEqualTo(100);
    assertThat(canary.hostRewrite()).isEqualTo("backend.internal");
    assertThat(canary.prefixRewrite()).isNull();
    assertThat(canary.timeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(canary.clusters()).containsExactly(
        new RouteAction.WeightedCluster("service_v1", 90, HeaderMutations.NONE,
            new HeaderMutations(List.of(new HeaderValue("x-served-by", "v1", true)), List.of())),
        new RouteAction.WeightedCluster("service_v2", 10,
            new HeaderMutations(List.of(new HeaderValue("x-canary", "true", false)), List.of()),
            new HeaderMutations(List.of(new HeaderValue("x-served-by", "v2", true)), List.of())));
    assertThat(api.routes().get(4).requestHeaders().remove()).containsExactly("x-internal");

    RouteAction.Forward items = (RouteAction.Forward) api.routes().get(3).action();
    assertThat(items.prefixRewrite()).isEqualTo("/v1/items");
    assertThat(items.timeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(((RouteAction.Forward) api.routes().get(2).action()).timeout()).isEqualTo(Duration.ZERO);

    assertThat(api.routes().get(1).action()).isEqualTo(new RouteAction.DirectResponse(403, "deletes are not allowed\n"));
    VirtualHostConfig legacy = rc.virtualHosts().get(1);
    assertThat(legacy.routes().get(0).action())
        .isEqualTo(new RouteAction.Redirect("https", "www.example.com", 8443, "/new", null, 308, true));
    assertThat(legacy.routes().get(1).action())
        .isEqualTo(new RouteAction.Redirect(null, null, 0, null, "/manual", 302, false));
  }

  @Test
  void translatedMatchersRouteRequestsAsEnvoyWould() throws Exception {
    RouteTable table = RouteTable.compile(frontProxy().snapshot().listeners().get(0).http().routeConfig());
    assertThat(table.route(TestRequest.request("GET", "/x", "api.example.com").header("x-version", "v2")).name())
        .isEqualTo("v2-by-header");
    assertThat(table.route(TestRequest.request("DELETE", "/x", "api.example.com")).name()).isEqualTo("delete-blocked");
    assertThat(table.route(TestRequest.request("GET", "/debug/x?trace", "api.example.com")).name()).isEqualTo("debug-query");
    assertThat(table.route(TestRequest.request("GET", "/debug/x", "api.example.com"))).isNull();
    assertThat(table.route(TestRequest.request("GET", "/items/42", "API.example.com:8443")).name()).isEqualTo("items-by-id");
    assertThat(table.route(TestRequest.request("GET", "/items/42", "API.example.com:8443")).match()
        .matchedPrefixLength(TestRequest.get("/items/42"))).isEqualTo(9);
    assertThat(table.route(TestRequest.request("GET", "/ApI/users", "api.example.com")).name()).isEqualTo("canary");
    assertThat(table.route(TestRequest.request("GET", "/docs/a", "legacy.example.com")).action())
        .isInstanceOf(RouteAction.Redirect.class);
    assertThat(table.route(TestRequest.request("GET", "/docsx", "legacy.example.com"))).isNull();
    assertThat(table.virtualHost("other.example.com").name()).isEqualTo("catch-all");
  }

  @Test
  void translatesTcpProxyListener() throws Exception {
    ListenerConfig tcp = frontProxy().snapshot().listeners().get(1);
    assertThat(tcp.http()).isNull();
    assertThat(tcp.isHttp()).isFalse();
    assertThat(tcp.tcpProxy()).isEqualTo(new TcpProxyConfig("tcp_gateway", List.of(
        new RouteAction.WeightedCluster("gateway_pool", 3, HeaderMutations.NONE, HeaderMutations.NONE),
        new RouteAction.WeightedCluster("service_v1", 1, HeaderMutations.NONE, HeaderMutations.NONE)),
        4, Duration.ofSeconds(60)));
    assertThat(tcp.tcpProxy().cluster()).isNull();
  }

  @Test
  void translatesClustersWithTheirDefaults() throws Exception {
    ProxySnapshot snapshot = frontProxy().snapshot();
    assertThat(snapshot.clusters()).containsOnlyKeys("service_v1", "service_v2", "gateway_pool", "logical");
    assertThat(snapshot.cluster("service_v1")).isEqualTo(ClusterConfig.builder("service_v1", LbPolicy.ROUND_ROBIN,
        Duration.ofSeconds(5), List.of(new EndpointConfig("10.0.0.1", 8080, 1), new EndpointConfig("10.0.0.2", 8080, 3))).build());
    assertThat(snapshot.cluster("service_v2")).isEqualTo(ClusterConfig.builder("service_v2", LbPolicy.LEAST_REQUEST,
        Duration.ofMillis(250), List.of(new EndpointConfig("v2.backend.internal", 9090, 1)))
        .dns(new io.keelson.dataplane.config.DnsResolution(false, Duration.ofSeconds(5), Duration.ofSeconds(5),
            Duration.ofSeconds(50), io.keelson.dataplane.config.DnsResolution.LookupFamily.AUTO)).build());
    assertThat(snapshot.cluster("gateway_pool").lbPolicy()).isEqualTo(LbPolicy.MAGLEV);
    assertThat(snapshot.cluster("logical").lbPolicy()).isEqualTo(LbPolicy.RANDOM);
    assertThat(snapshot.cluster("logical").endpoints()).containsExactly(new EndpointConfig("example.org", 80, 1));
  }

  @Test
  void exposesTheAdminAddress() throws Exception {
    assertThat(frontProxy().admin()).isEqualTo(new AdminConfig("127.0.0.1", 9902));
    StaticBootstrap noAdmin = BootstrapLoader.parseBootstrap("static_resources: {}\n", "empty.yaml");
    assertThat(noAdmin.admin()).isNull();
    assertThat(noAdmin.adminOrDefault()).isEqualTo(new AdminConfig("127.0.0.1", 9901));
  }

  @Test
  void warnsByNameAboutFieldsItSafelyIgnores() throws Exception {
    // layered_runtime is read now (its premature-reset keys); front-proxy.yaml's static layer is empty
    assertThat(frontProxy().snapshot().warnings()).isEmpty();
    StaticBootstrap b = BootstrapLoader.parseBootstrap("""
        layered_runtime:
          layers:
          - name: disk
            disk_layer: { symlink_root: /srv/runtime }
        static_resources: {}
        """, "runtime.yaml");
    assertThat(b.snapshot().warnings()).containsExactly(
        "runtime.yaml: layered_runtime.layers[0].disk_layer: ignored: Keelson reads the runtime from static layers only");
  }

  @Test
  void readsTheAccessLogOfTheConnectionManagerWithEnvoysDefaultFormat() throws Exception {
    assertThat(frontProxy().snapshot().listeners().get(0).http().accessLogs()).containsExactly(
        new io.keelson.dataplane.config.AccessLogConfig(null, io.keelson.dataplane.config.AccessLogConfig.ENVOY_DEFAULT_FORMAT, null));
  }

  @Test
  void configDumpIsEnvoyJsonWithTypedConfigExpanded() throws Exception {
    String dump = frontProxy().snapshot().configDump();
    assertThat(dump)
        .contains("\"@type\": \"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\"")
        .contains("\"stat_prefix\": \"ingress_http\"")
        .contains("\"service_v2\"");
    // The dump parses back to the same snapshot.
    assertThat(BootstrapLoader.fromYaml(dump, "dump.json").clusters())
        .isEqualTo(frontProxy().snapshot().clusters());
  }

  @Test
  void readsJsonAsWellAsYaml() throws Exception {
    String json = """
        {"static_resources": {"clusters": [{"name": "a", "connect_timeout": "1s",
          "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address":
            {"socket_address": {"address": "127.0.0.1", "port_value": 81}}}}]}]}}]}}
        """;
    ProxySnapshot snapshot = BootstrapLoader.fromYaml(json, "config.json");
    assertThat(snapshot.cluster("a").endpoints()).containsExactly(new EndpointConfig("127.0.0.1", 81, 1));
    assertThat(snapshot.cluster("a").connectTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void acceptsCamelCaseFieldNamesAsProtobufJsonDoes() throws Exception {
    ProxySnapshot snapshot = BootstrapLoader.fromYaml("""
        staticResources:
          clusters:
          - name: a
            connectTimeout: 2s
            lbPolicy: RANDOM
        """, "camel.yaml");
    assertThat(snapshot.cluster("a").lbPolicy()).isEqualTo(LbPolicy.RANDOM);
    assertThat(snapshot.cluster("a").connectTimeout()).isEqualTo(Duration.ofSeconds(2));
  }
}
