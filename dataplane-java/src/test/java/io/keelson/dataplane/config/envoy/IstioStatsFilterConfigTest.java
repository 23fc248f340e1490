package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.stats.IstioMetricsConfig;
import io.keelson.dataplane.stats.IstioTagExpression;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's istio.stats HTTP filter as istiod writes it (a TypedStruct of stats.PluginConfig): read into the metric
 * overrides the connection manager records with, and what Keelson does not do refused by field path.
 */
class IstioStatsFilterConfigTest {
  private static final String BASE = BootstrapLoaderTest.fixture("minimal.yaml");
  private static final String FILTER = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
      + ".http_filters[0].typed_config";

  private static String withStats(String typeUrl, String value) {
    String from = "          http_filters:\n";
    assertThat(BASE).contains(from);
    return BASE.replace(from, from
        + "          - name: istio.stats\n"
        + "            typed_config:\n"
        + "              \"@type\": type.googleapis.com/xds.type.v3.TypedStruct\n"
        + "              type_url: " + typeUrl + "\n"
        + "              value: " + value.strip().replace("\n", " ") + "\n");
  }

  @Test
  void metricsEntriesAreReadInOrder() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withStats("type.googleapis.com/stats.PluginConfig", """
        { metrics: [ { name: requests_total, drop: true },
                     { tags_to_remove: [ request_protocol ], dimensions: { request_host: request.host, team: "'a'" } } ] }
        """), "config.yaml");
    assertThat(snapshot.warnings()).isEmpty();
    HttpFilterConfig f = snapshot.listeners().getFirst().http().httpFilters().getFirst();
    assertThat(f.name()).isEqualTo("istio.stats");
    assertThat(f.settings()).isEqualTo(List.of(
        new IstioMetricsConfig.Override("requests_total", true, List.of(), Map.of()),
        new IstioMetricsConfig.Override("", false, List.of("request_protocol"), Map.of(
            "request_host", IstioTagExpression.parse("request.host"), "team", IstioTagExpression.parse("'a'")))));
  }

  @Test
  void whatKeelsonDoesNotDoIsRefusedByFieldPath() {
    assertThat(BootstrapRejectionTest.rejected(withStats("type.googleapis.com/stats.Other", "{}")).problems()).containsExactly(
        "config.yaml: " + FILTER + ".type_url: 'type.googleapis.com/stats.Other' is not supported in a TypedStruct http"
            + " filter; expected type.googleapis.com/stats.PluginConfig (istio.stats)");
    assertThat(BootstrapRejectionTest.rejected(withStats("type.googleapis.com/stats.PluginConfig", """
        { reporter: SERVER_GATEWAY, metrics: [ { name: request_total }, { dimensions: { p: "request.path + 'x'" } },
          { match: "true" } ] }
        """)).problems()).containsExactlyInAnyOrder(
        "config.yaml: " + FILTER + ".value.reporter: 'SERVER_GATEWAY' is not supported; expected UNSPECIFIED (the"
            + " reporter follows the listener's direction)",
        "config.yaml: " + FILTER + ".value.metrics[0].name: 'request_total' is not a standard metric; expected one of "
            + new java.util.TreeSet<>(IstioMetricsConfig.NAMES) + " or empty for all",
        "config.yaml: " + FILTER + ".value.metrics[1].dimensions.p: 'request.path + 'x'' is not supported; expected "
            + IstioTagExpression.SUPPORTED,
        "config.yaml: " + FILTER + ".value.metrics[2].match: is not supported; expected one of "
            + java.util.Set.of("name", "drop", "tags_to_remove", "dimensions"));
  }

  @Test
  void istiodsOtherPluginFieldsAreAcceptedOrRefusedByName() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withStats("type.googleapis.com/stats.PluginConfig", """
        { disable_host_header_fallback: true, tcp_reporting_duration: 15s, rescoping_duration: 24h,
          scope_grace_period_duration: 15s, reporter: UNSPECIFIED, metrics: [ { name: requests_total, drop: true } ] }
        """), "config.yaml");
    assertThat(snapshot.listeners().getFirst().http().httpFilters().getFirst().settings())
        .isEqualTo(List.of(new IstioMetricsConfig.Override("requests_total", true, List.of(), Map.of())));

    assertThat(BootstrapRejectionTest.rejected(withStats("type.googleapis.com/stats.PluginConfig", """
        { disable_host_header_fallback: false, definitions: [ { name: custom, value: "1" } ] }
        """)).problems()).containsExactlyInAnyOrder(
        "config.yaml: " + FILTER + ".value.definitions: is not supported; expected metrics (drop, tags_to_remove,"
            + " dimensions of the standard metrics), disable_host_header_fallback, reporter, or the ignored"
            + " tcp_reporting_duration, rescoping_duration, scope_grace_period_duration",
        "config.yaml: " + FILTER + ".value.disable_host_header_fallback: false is not supported: Keelson never falls"
            + " back to the Host header for destination_service; expected true or the field left out");
  }

  @Test
  void sourceAddressIsAcceptedWithAWarningThatEachConnectionIsANewValue() throws Exception {
    var snapshot = BootstrapLoader.fromYaml(withStats("type.googleapis.com/stats.PluginConfig",
        "{ metrics: [ { dimensions: { src: source.address } } ] }"), "config.yaml");
    assertThat(snapshot.warnings()).singleElement().asString().contains(FILTER + ".value.metrics[0].dimensions.src",
        "ephemeral port", "past " + IstioMetricsConfig.MAX_VALUES);
  }

  @Test
  void aSecondIstioStatsFilterAndAPerRouteConfigAreRefused() {
    String two = withStats("type.googleapis.com/stats.PluginConfig", "{ metrics: [ { name: requests_total, drop: true } ] }")
        .replace("          - name: istio.stats\n", "          - name: istio.stats.b\n"
            + "            typed_config:\n"
            + "              \"@type\": type.googleapis.com/xds.type.v3.TypedStruct\n"
            + "              type_url: type.googleapis.com/stats.PluginConfig\n"
            + "              value: {}\n"
            + "          - name: istio.stats\n");
    assertThat(BootstrapRejectionTest.rejected(two).problems()).containsExactly("config.yaml: "
        + "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1]: a second istio.stats"
        + " http filter in one connection manager is not supported (Envoy would run both, reporting each request"
        + " twice); expected one, with every metrics override in it");

    String perRoute = withStats("type.googleapis.com/stats.PluginConfig", "{}").replace(
        "                route: { cluster: backend }\n", "                route: { cluster: backend }\n"
            + "                typed_per_filter_config:\n"
            + "                  istio.stats:\n"
            + "                    \"@type\": type.googleapis.com/xds.type.v3.TypedStruct\n"
            + "                    type_url: type.googleapis.com/stats.PluginConfig\n"
            + "                    value: {}\n");
    assertThat(BootstrapRejectionTest.rejected(perRoute).problems()).singleElement().asString()
        .contains("typed_per_filter_config[\"istio.stats\"]: istio.stats has no per-route config");
  }

  @Test
  void aSecondIstioStatsNetworkFilterIsRefused() {
    String tcp = """
        static_resources:
          listeners:
          - name: db
            address: { socket_address: { address: 127.0.0.1, port_value: 10001 } }
            filter_chains:
            - filters:
              - name: istio.stats
                typed_config:
                  "@type": type.googleapis.com/xds.type.v3.TypedStruct
                  type_url: type.googleapis.com/stats.PluginConfig
                  value: { metrics: [ { name: tcp_connections_opened_total, drop: true } ] }
              - name: istio.stats.b
                typed_config:
                  "@type": type.googleapis.com/xds.type.v3.TypedStruct
                  type_url: type.googleapis.com/stats.PluginConfig
                  value: {}
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: db
                  cluster: backend
          clusters:
          - name: backend
            load_assignment:
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } }
        """;
    assertThat(BootstrapRejectionTest.rejected(tcp).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].filter_chains[0].filters[1]: listener 'db': a second istio.stats"
            + " network filter in one chain is not supported (Envoy would run both, reporting each connection twice);"
            + " expected one");
  }

  @Test
  void theNetworkFilterGoesInFrontOfATcpProxyOnly() {
    String from = "    - filters:\n";
    assertThat(BASE).contains(from);
    String yaml = BASE.replace(from, from
        + "      - name: istio.stats\n"
        + "        typed_config:\n"
        + "          \"@type\": type.googleapis.com/xds.type.v3.TypedStruct\n"
        + "          type_url: type.googleapis.com/stats.PluginConfig\n"
        + "          value: { metrics: [ { name: tcp_connections_opened_total, drop: true } ] }\n");
    assertThat(BootstrapRejectionTest.rejected(yaml).problems()).containsExactly(
        "config.yaml: static_resources.listeners[0].filter_chains[0].filters: listener 'main': the istio.stats network"
            + " filter is supported in front of envoy.filters.network.tcp_proxy only; for HTTP put it in the connection"
            + " manager's http_filters");
  }
}
