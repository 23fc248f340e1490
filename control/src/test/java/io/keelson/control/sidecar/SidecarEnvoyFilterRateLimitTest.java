package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.cli.ClientCommandsAccess;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.ProxyStatus;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end, Istio's global rate limit recipe ("Enabling Rate Limits using Envoy") through a real control plane:
 * an EnvoyFilter selecting the product workload inserts envoy.filters.http.ratelimit before the router of its
 * sidecar's inbound listener, adds the rate limit service's cluster (a real grpc-java rate limit service) and merges
 * {@code rate_limits} (descriptor PATH = :path) into its inbound virtual host. A caller through its own sidecar (mesh
 * mTLS) gets 429 from the product's sidecar once a path is over its limit; another path is not; the catalog workload,
 * which the EnvoyFilter does not select, is never limited; status names the EnvoyFilter for the product's sidecar only;
 * deleting it lifts the limit.
 */
class SidecarEnvoyFilterRateLimitTest {
  private static final int LIMIT = 3;
  private static final String SERVICES = SidecarMtlsTest.SERVICES + """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: catalog }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  static String envoyFilter(int rlsPort) {
    return """
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: filter-ratelimit, namespace: default }
        spec:
          workloadSelector:
            labels: { app: product }
          configPatches:
          - applyTo: HTTP_FILTER
            match:
              context: SIDECAR_INBOUND
              listener:
                filterChain:
                  filter:
                    name: "envoy.filters.network.http_connection_manager"
                    subFilter: { name: "envoy.filters.http.router" }
            patch:
              operation: INSERT_BEFORE
              value:
                name: envoy.filters.http.ratelimit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                  domain: ratelimit
                  failure_mode_deny: true
                  timeout: 5s
                  rate_limit_service:
                    grpc_service:
                      envoy_grpc: { cluster_name: rate_limit_cluster }
                    transport_api_version: V3
          - applyTo: CLUSTER
            match: { context: SIDECAR_INBOUND }
            patch:
              operation: ADD
              value:
                name: rate_limit_cluster
                type: STATIC
                connect_timeout: 1s
                lb_policy: ROUND_ROBIN
                http2_protocol_options: {}
                load_assignment:
                  cluster_name: rate_limit_cluster
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
          - applyTo: VIRTUAL_HOST
            match:
              context: SIDECAR_INBOUND
              routeConfiguration:
                vhost: { name: "", route: { action: ANY } }
            patch:
              operation: MERGE
              value:
                rate_limits:
                - actions:
                  - request_headers: { header_name: ":path", descriptor_key: "PATH" }
        """.formatted(rlsPort);
  }

  private static int status(int outbound, String host, String path) {
    try (RawHttp http = new RawHttp(outbound)) {
      return http.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read().status();
    } catch (IOException e) {
      return -1;
    }
  }

  private static List<Integer> burst(int outbound, String host, String path, int n) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(status(outbound, host, path));
    }
    return out;
  }

  private static ProxyStatus proxy(ControlPlane cp, String service) {
    return cp.xds.status().stream().filter(s -> service.equals(s.service())).findFirst().orElseThrow();
  }

  @Test
  void theSelectedWorkloadsSidecarEnforcesTheGlobalLimitAndOthersAreNotLimited() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        RateLimitService rls = new RateLimitService(LIMIT);
        SampleService productApp = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService catalogApp = new SampleService("catalog", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", productApp.port(), Map.of("app", "product"));
        Sidecar catalog = secureSidecar(cp, "catalog", "catalog", catalogApp.port(), Map.of("app", "catalog"));
        Sidecar web = secureSidecar(cp, "web", "web", 1, Map.of("app", "web"))) {
      cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1")
          && served(outbound, "catalog").equals("catalog-v1"));
      assertThat(burst(outbound, "product-service", "/items", 2 * LIMIT)).as("no limit before the EnvoyFilter")
          .containsOnly(200);

      // A dry run names the product's sidecar only, and the types the EnvoyFilter patches.
      var dryRun = cp.store.apply(PolicyParser.parse("ratelimit.yaml", envoyFilter(rls.port())).policies(), true);
      assertThat(cp.xds.changedFor(dryRun.before(), dryRun.after())).containsOnlyKeys(product.nodeId())
          .containsEntry(product.nodeId(), List.of("clusters", "listeners", "routes"));
      cp.store.apply(PolicyParser.parse("ratelimit.yaml", envoyFilter(rls.port())).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> !proxy(cp, "product-service").envoyFilters().isEmpty()
          || !proxy(cp, "product-service").warnings().isEmpty());
      assertThat(proxy(cp, "product-service").warnings()).isEmpty();
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "product-service", "/items") == 429);
      // Over the limit, every request to that path is refused by the product's sidecar, never reaching the app.
      assertThat(burst(outbound, "product-service", "/items", 3)).containsOnly(429);
      assertThat(rls.requests.getFirst().getDomain()).isEqualTo("ratelimit");
      assertThat(rls.requests.getFirst().getDescriptorsList()).containsExactly(RateLimitDescriptor.newBuilder()
          .addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("PATH").setValue("/items")).build());
      // Another path is another descriptor: its own LIMIT requests pass, then it is limited too.
      List<Integer> other = burst(outbound, "product-service", "/other", LIMIT + 2);
      assertThat(other.subList(0, LIMIT)).containsOnly(200);
      assertThat(other.subList(LIMIT, LIMIT + 2)).containsOnly(429);

      // The catalog workload is not selected: never limited, never asks the service.
      int asked = rls.requests.size();
      assertThat(burst(outbound, "catalog", "/items", 3 * LIMIT)).containsOnly(200);
      assertThat(rls.requests).hasSize(asked);

      assertThat(proxy(cp, "product-service").envoyFilters()).containsExactly("EnvoyFilter/default/filter-ratelimit");
      assertThat(proxy(cp, "catalog").envoyFilters()).isEmpty();
      assertThat(proxy(cp, "web").envoyFilters()).isEmpty(); // its own outbound: none yet
      assertThat(proxy(cp, "product-service").types().values()).allMatch(t -> t.lastError() == null);
      String server = "http://127.0.0.1:" + cp.api.port();
      String[] status = ClientCommandsAccess.run("status", "--server", server);
      assertThat(status[1]).contains("envoyfilter: " + product.nodeId() + " patched by EnvoyFilter/default/filter-ratelimit")
          .doesNotContain("envoyfilter: " + catalog.nodeId());

      // An outbound patch on the caller's sidecar: its route configuration adds a response header; explain says so.
      cp.store.apply(PolicyParser.parse("web.yaml", """
          apiVersion: networking.istio.io/v1alpha3
          kind: EnvoyFilter
          metadata: { name: web-routes, namespace: default }
          spec:
            workloadSelector: { labels: { app: web } }
            configPatches:
            - applyTo: ROUTE_CONFIGURATION
              match: { context: SIDECAR_OUTBOUND }
              patch:
                operation: MERGE
                value: { response_headers_to_add: [ { header: { key: x-envoyfilter, value: web } } ] }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> {
        try (RawHttp http = new RawHttp(outbound)) {
          return "web".equals(http.send("GET /items HTTP/1.1\r\nHost: catalog\r\n\r\n").read().header("x-envoyfilter"));
        }
      });
      assertThat(proxy(cp, "web").envoyFilters()).containsExactly("EnvoyFilter/default/web-routes");
      String[] explain = ClientCommandsAccess.run("explain", "--from", "web", "--to", "catalog", "--path", "/items",
          "--server", server);
      assertThat(explain[1]).contains("patched by EnvoyFilter/default/web-routes");

      // An EnvoyFilter every proxy would NACK is refused by apply, naming the field.
      java.nio.file.Path bad = java.nio.file.Files.createTempFile("bad-envoyfilter", ".yaml");
      java.nio.file.Files.writeString(bad, envoyFilter(rls.port()).replace("filter-ratelimit", "bad")
          .replace("connect_timeout: 1s", "connect_timeout: 1s\n        preconnect_policy: { per_upstream_preconnect_ratio: 1.5 }"));
      try {
        String[] refused = ClientCommandsAccess.run("apply", "-f", bad.toString(), "--server", server);
        assertThat(refused[0]).isNotEqualTo("0");
        assertThat(refused[1] + refused[2]).contains("EnvoyFilter/bad").contains("spec.configPatches[1].patch.value")
            .contains("preconnect_policy");
      } finally {
        java.nio.file.Files.delete(bad);
      }
      assertThat(cp.store.current().ofType(io.keelson.control.policy.Policy.EnvoyFilter.class)).hasSize(2);

      cp.store.delete("EnvoyFilter", "default", "filter-ratelimit", false);
      await().atMost(Duration.ofSeconds(15)).until(() -> status(outbound, "product-service", "/items") == 200);
      assertThat(proxy(cp, "product-service").envoyFilters()).isEmpty();
    }
  }
}
