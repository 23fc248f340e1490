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
        "config.yaml: " + FILTER + ".value.reporter: is not supported; expected only metrics (drop, tags_to_remove,"
            + " dimensions of the standard metrics)",
        "config.yaml: " + FILTER + ".value.metrics[0].name: 'request_total' is not a standard metric; expected one of "
            + new java.util.TreeSet<>(IstioMetricsConfig.NAMES) + " or empty for all",
        "config.yaml: " + FILTER + ".value.metrics[1].dimensions.p: 'request.path + 'x'' is not supported; expected "
            + IstioTagExpression.SUPPORTED,
        "config.yaml: " + FILTER + ".value.metrics[2].match: is not supported; expected one of "
            + java.util.Set.of("name", "drop", "tags_to_remove", "dimensions"));
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
