package io.keelson.control.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.xds.Mesh;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP API over a real socket, with a real xDS client connected. */
class ApiServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  @TempDir
  Path tmp;
  private ControlPlane cp;
  private XdsClient proxy;

  @BeforeEach
  void start() throws Exception {
    cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, tmp.resolve("data"), 15001));
    proxy = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, Node.newBuilder().setId("sidecar-a")
        .build()), s -> { });
    await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.nodeIds().contains("sidecar-a"));
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    cp.close();
  }

  private HttpResponse<String> call(String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.api.port() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode ok(String method, String path, String body) throws Exception {
    HttpResponse<String> r = call(method, path, body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static String canary() {
    return Mesh.registry(8081, 8082) + "---\n" + Mesh.resource("/canary/destination-rule.yaml") + "---\n"
        + Mesh.resource("/canary/virtual-service.yaml");
  }

  @Test
  void servicesOfOneNameInTwoNamespacesAreListedDeletedAndRestoredApart() throws Exception {
    String services = """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: reviews }
        spec: { ports: [ { port: 9080 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: reviews, namespace: shop }
        spec: { ports: [ { port: 9080 } ] }
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ratings, namespace: shop }
        spec: { ports: [ { port: 9080 } ] }
        """;
    assertThat(ok("POST", "/v1/apply?file=s.yaml", services).path("created").toString())
        .contains("Service/reviews", "Service/shop/reviews", "Service/shop/ratings");
    JsonNode all = ok("GET", "/v1/resources/service/reviews", null).path("items");
    assertThat(all).hasSize(2);
    assertThat(all.findValuesAsText("namespace")).containsExactlyInAnyOrder("default", "shop");
    assertThat(ok("GET", "/v1/resources/service?namespace=shop", null).path("items").findValuesAsText("name"))
        .containsExactlyInAnyOrder("reviews", "ratings");
    assertThat(ok("GET", "/v1/resources/service/shop%2Freviews", null).path("items")).hasSize(1);
    // explain: from a service of shop, the short name is shop's; from one of default, default's.
    assertThat(ok("GET", "/v1/explain?from=ratings.shop&to=reviews:9080&path=/", null).path("clusters").get(0)
        .path("cluster").asText()).isEqualTo("reviews.shop");
    assertThat(ok("GET", "/v1/explain?from=reviews&to=reviews:9080&path=/", null).path("clusters").get(0)
        .path("cluster").asText()).isEqualTo("reviews");
    assertThat(call("DELETE", "/v1/resources/service/reviews", null).statusCode()).as("which namespace's?")
        .isNotEqualTo(200);
    assertThat(ok("DELETE", "/v1/resources/service/shop%2Fratings", null).path("deleted").toString())
        .contains("Service/shop/ratings");
    // The data directory keeps the two reviews apart across a restart.
    proxy.close();
    cp.close();
    cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, tmp.resolve("data"), 15001));
    proxy = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, Node.newBuilder().setId("sidecar-a")
        .build()), s -> { });
    assertThat(cp.store.current().service("reviews")).isNotNull();
    assertThat(cp.store.current().service("reviews.shop")).isNotNull();
    assertThat(cp.store.current().service("ratings.shop")).isNull();
    assertThat(ok("DELETE", "/v1/resources/service/reviews?namespace=default", null).path("deleted").toString())
        .contains("\"Service/reviews\"");
  }

  @Test
  void dryRunSaysWhatWouldChangeAndForWhichProxiesThenApplyDoesIt() throws Exception {
    JsonNode dry = ok("POST", "/v1/apply?dryRun=true&file=canary.yaml", canary());
    assertThat(dry.path("created")).hasSize(5);
    assertThat(dry.path("proxiesThatWouldBeUpdated").get(0).asText()).isEqualTo("sidecar-a");
    assertThat(JSON.readTree(call("GET", "/v1/resources", null).body()).path("items")).isEmpty();

    JsonNode applied = ok("POST", "/v1/apply?file=canary.yaml", canary());
    assertThat(applied.path("resourceTypesChanged").toString()).contains("routes", "clusters", "endpoints");
    JsonNode vs = ok("GET", "/v1/resources/vs/product-service", null).path("items").get(0);
    assertThat(vs.path("kind").asText()).isEqualTo("VirtualService");
    assertThat(vs.path("file").asText()).isEqualTo("canary.yaml");
    assertThat(vs.path("yaml").asText()).contains("weight: 90");

    JsonNode again = ok("POST", "/v1/apply?dryRun=true", Mesh.split(90, 10));
    assertThat(again.path("unchanged").get(0).asText()).isEqualTo("VirtualService/product-service");
    assertThat(again.path("proxiesThatWouldBeUpdated")).isEmpty();
  }

  @Test
  void aBadDocumentIsRejectedWithTheExactMessageAndNothingApplies() throws Exception {
    HttpResponse<String> r = call("POST", "/v1/apply?file=canary.yaml", canary().replace("weight: 10", "weight: ten"));
    assertThat(r.statusCode()).isEqualTo(400);
    JsonNode err = JSON.readTree(r.body()).path("errors").get(0);
    assertThat(err.path("message").asText()).isEqualTo("canary.yaml: VirtualService/product-service: "
        + "spec.http[0].route[1].weight: expected a whole number from 0 to 1000000, got \"ten\"");
    assertThat(err.path("path").asText()).isEqualTo("spec.http[0].route[1].weight");
    assertThat(JSON.readTree(call("GET", "/v1/resources", null).body()).path("items")).isEmpty();
  }

  @Test
  void statusProxyConfigExplainAndDelete() throws Exception {
    ok("POST", "/v1/apply?file=canary.yaml", canary());
    await().atMost(Duration.ofSeconds(10)).until(() -> ok("GET", "/v1/status", null).path("proxies").get(0)
        .path("types").path("routes").path("acked").asText().equals(cp.xds.current().routesVersion()));
    JsonNode status = ok("GET", "/v1/status", null).path("proxies").get(0);
    assertThat(status.path("nodeId").asText()).isEqualTo("sidecar-a");
    assertThat(status.path("types").path("clusters").path("state").asText()).isEqualTo("ACK");

    JsonNode clusters = ok("GET", "/v1/proxy-config/sidecar-a/clusters", null).path("resources");
    assertThat(clusters.findValuesAsText("name")).contains("product-service", "product-service|v1", "product-service|v2");
    JsonNode endpoints = ok("GET", "/v1/proxy-config/sidecar-a/endpoints", null);
    assertThat(endpoints.toString()).contains("8082");
    assertThat(call("GET", "/v1/proxy-config/nobody/routes", null).statusCode()).isEqualTo(404);

    JsonNode explain = ok("GET", "/v1/explain?from=frontend&to=product-service:80&path=/items", null);
    assertThat(explain.path("route").asText()).isEqualTo("VirtualService/product-service/product-service-0");
    assertThat(explain.path("clusters").get(0).path("cluster").asText()).isEqualTo("product-service|v1");
    assertThat(explain.path("clusters").get(0).path("share").asDouble()).isEqualTo(90.0);
    assertThat(explain.path("clusters").get(1).path("endpoints").get(0).asText()).isEqualTo("127.0.0.1:8082");
    assertThat(explain.path("why").get(1).asText()).contains("selects virtual host 'product-service'");
    JsonNode unknown = ok("GET", "/v1/explain?from=frontend&to=nothing&path=/", null);
    assertThat(unknown.path("result").asText()).isEqualTo("404 (no virtual host)");

    HttpResponse<String> refused = call("DELETE", "/v1/resources/dr/product-service", null);
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body()).contains("would break if DestinationRule/product-service were deleted");
    ok("DELETE", "/v1/resources/virtualservice/product-service", null);
    ok("DELETE", "/v1/resources/destinationrules/product-service", null);
    assertThat(call("GET", "/v1/resources/dr/product-service", null).statusCode()).isEqualTo(404);
  }

  @Test
  void aDryRunOfAServiceNoConnectedProxySeesChangesNoResourceType() throws Exception {
    // sidecar-a is of namespace default: shop's Service exported to "." is not in its view, so nothing changes for it
    // (the mesh-wide preview, exportTo unfiltered, would say clusters).
    JsonNode dry = ok("POST", "/v1/apply?dryRun=true&file=private.yaml", """
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: vault, namespace: shop, annotations: { networking.istio.io/exportTo: "." } }
        spec: { ports: [ { name: http, port: 80 } ] }
        """);
    assertThat(dry.path("created")).hasSize(1);
    assertThat(dry.path("proxiesThatWouldBeUpdated")).isEmpty();
    assertThat(dry.path("resourceTypesChanged")).isEmpty();
  }

  @Test
  void applyNamesEachConnectedProxyItChangesWhateverItsKindAndSaysWhenNothingChanged() throws Exception {
    Node other = Node.newBuilder().setId("sidecar-b").setMetadata(com.google.protobuf.Struct.newBuilder()
        .putFields(io.keelson.control.xds.NodeRegistration.OUTBOUND_PORT,
            com.google.protobuf.Value.newBuilder().setNumberValue(16001).build())).build();
    Node grpc = Node.newBuilder().setId("grpc-c").setMetadata(com.google.protobuf.Struct.newBuilder()
        .putFields(io.keelson.control.xds.NodeRegistration.PROXYLESS,
            com.google.protobuf.Value.newBuilder().setBoolValue(true).build())).build();
    try (XdsClient b = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), true, other), s -> { });
        XdsClient c = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, grpc), s -> { })) {
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.nodeIds().size() == 3);

      JsonNode applied = ok("POST", "/v1/apply?file=canary.yaml", canary());
      assertThat(applied.path("proxiesUpdated").toString()).contains("sidecar-a", "sidecar-b", "grpc-c");
      assertThat(io.keelson.control.cli.ClientCommandsAccess.summary(applied, false))
          .startsWith("updated [").contains("on proxies");

      JsonNode again = ok("POST", "/v1/apply?file=canary.yaml", canary());
      assertThat(again.path("resourceTypesChanged")).isEmpty();
      assertThat(again.path("proxiesUpdated")).isEmpty();
      assertThat(again.path("proxiesConnected").asInt()).isEqualTo(3);
      assertThat(io.keelson.control.cli.ClientCommandsAccess.summary(again, false))
          .isEqualTo("no proxy configuration changed");
    }
  }

  @Test
  void applySummarySaysWhenNoProxyIsConnectedInsteadOfAnEmptyList() throws Exception {
    JsonNode r = JSON.readTree("{\"resourceTypesChanged\":[\"routes\"],\"proxiesUpdated\":[],\"proxiesConnected\":0}");
    assertThat(io.keelson.control.cli.ClientCommandsAccess.summary(r, false))
        .isEqualTo("updated [\"routes\"]; no proxy is connected (each gets it when it connects)");
  }

  @Test
  void namespacedDocumentsOfTheSameNameAreListedAndDeletedPerNamespace() throws Exception {
    ok("POST", "/v1/apply?file=authz.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: allow-web, namespace: shop }
        spec: { action: ALLOW }
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: allow-web, namespace: billing }
        spec: { action: ALLOW }
        """);
    JsonNode all = ok("GET", "/v1/resources/authorizationpolicy/allow-web", null).path("items");
    assertThat(all).hasSize(2);
    assertThat(ok("GET", "/v1/resources/authorizationpolicy/allow-web?namespace=shop", null).path("items").get(0)
        .path("namespace").asText()).isEqualTo("shop");
    assertThat(call("DELETE", "/v1/resources/authorizationpolicy/allow-web", null).statusCode()).isNotEqualTo(200);
    assertThat(ok("DELETE", "/v1/resources/authorizationpolicy/allow-web?namespace=shop", null).path("deleted").get(0)
        .asText()).isEqualTo("AuthorizationPolicy/shop/allow-web");
    JsonNode left = ok("GET", "/v1/resources/authorizationpolicy", null).path("items");
    assertThat(left).hasSize(1);
    assertThat(left.get(0).path("namespace").asText()).isEqualTo("billing");
  }
}
