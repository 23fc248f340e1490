package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's Sidecar resource end to end: a real control plane, two services (svc-a, svc-b) each behind its own sidecar,
 * and two client sidecars. The client a Sidecar selects ({@code egress.hosts: [./svc-a]}) reaches svc-a and gets 404
 * for svc-b (its outbound route table has no virtual host for it, Envoy's NR), while the client no Sidecar selects
 * reaches both; deleting and re-applying the Sidecar changes that live. {@code status}, {@code proxy-config},
 * {@code explain} and {@code get} (the HTTP API behind bin/keelson) show the scope.
 */
class SidecarScopeEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: svc-a }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: svc-b }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: backoffice }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;
  private static final String SIDECAR = """
      apiVersion: networking.istio.io/v1
      kind: Sidecar
      metadata: { name: frontend-egress, namespace: default }
      spec:
        workloadSelector: { labels: { app: frontend } }
        egress: [ { hosts: [ ./svc-a ] } ]
      """;

  @Test
  void aWorkloadsSidecarScopesItsOutboundToSvcAWhileAnotherReachesBothAndChangesApplyLive() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a = new SampleService("svc-a", "v1").start("127.0.0.1", 0);
        SampleService b = new SampleService("svc-b", "v1").start("127.0.0.1", 0);
        Sidecar aSide = SidecarEndToEndTest.sidecar(cp, "svc-a", Map.of("app", "svc-a"), a.port());
        Sidecar bSide = SidecarEndToEndTest.sidecar(cp, "svc-b", Map.of("app", "svc-b"), b.port());
        Sidecar scoped = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of("app", "frontend"), 1);
        Sidecar free = SidecarEndToEndTest.sidecar(cp, "backoffice", Map.of("app", "backoffice"), 1)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> cp.xds.registeredWorkloads().size() == 4);
      int scopedOut = scoped.outboundAddress().getPort();
      int freeOut = free.outboundAddress().getPort();
      // Without a Sidecar both clients reach both services.
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> served(scopedOut, "svc-b", 3)
          .equals(Map.of("svc-b-v1", 3)) && served(freeOut, "svc-b", 3).equals(Map.of("svc-b-v1", 3)));

      cp.store.apply(PolicyParser.parse("sidecar.yaml", SIDECAR).policies(), false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> served(scopedOut, "svc-b", 3).equals(Map.of("status 404", 3)));
      assertThat(served(scopedOut, "svc-a", 10)).containsOnly(Map.entry("svc-a-v1", 10));
      assertThat(served(scopedOut, "svc-b:80", 5)).as("Envoy's NR: no virtual host").containsOnly(
          Map.entry("status 404", 5));
      assertThat(served(freeOut, "svc-a", 5)).containsOnly(Map.entry("svc-a-v1", 5));
      assertThat(served(freeOut, "svc-b", 5)).containsOnly(Map.entry("svc-b-v1", 5));

      // What the proxy itself runs: its clusters omit svc-b (its data plane's snapshot, and proxy-config).
      await().atMost(Duration.ofSeconds(10)).until(() -> !scoped.xds().lastSnapshot().clusters().containsKey("svc-b"));
      assertThat(scoped.xds().lastSnapshot().clusters()).containsKey("svc-a");
      assertThat(free.xds().lastSnapshot().clusters()).containsKeys("svc-a", "svc-b");
      JsonNode clusters = api(cp, "/v1/proxy-config/" + scoped.nodeId() + "/clusters");
      assertThat(clusters.toString()).contains("\"svc-a\"").doesNotContain("\"svc-b\"");
      assertThat(api(cp, "/v1/proxy-config/" + free.nodeId() + "/clusters").toString()).contains("\"svc-b\"");
      // status names the Sidecar scoping the proxy; explain says why svc-b is not found; get shows the document.
      JsonNode status = api(cp, "/v1/status");
      for (JsonNode p : status.path("proxies")) {
        assertThat(p.path("sidecar").isTextual()).as(p.toString()).isEqualTo(p.path("nodeId").asText()
            .equals(scoped.nodeId()));
      }
      assertThat(status.toString()).contains("\"sidecar\":\"Sidecar/default/frontend-egress\"");
      JsonNode explained = api(cp, "/v1/explain?from=frontend&to=svc-b");
      assertThat(explained.path("result").asText()).isEqualTo("404 (no virtual host)");
      assertThat(explained.path("why").toString()).contains("'frontend' is scoped by Sidecar/default/frontend-egress");
      assertThat(api(cp, "/v1/explain?from=backoffice&to=svc-b").path("result").asText()).isEqualTo("forwarded");
      assertThat(api(cp, "/v1/resources/sidecar/frontend-egress").toString()).contains("./svc-a");

      // Deleted: the client reaches svc-b again; applied again: 404 again.
      cp.store.delete("Sidecar", "default", "frontend-egress", false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> served(scopedOut, "svc-b", 3).equals(Map.of("svc-b-v1", 3)));
      cp.store.apply(PolicyParser.parse("sidecar.yaml", SIDECAR).policies(), false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> served(scopedOut, "svc-b", 3).equals(Map.of("status 404", 3)));
      assertThat(served(freeOut, "svc-b", 5)).containsOnly(Map.entry("svc-b-v1", 5));
    }
  }

  private static Map<String, Integer> served(int port, String host, int n) throws Exception {
    return SidecarEndToEndTest.servedBy(port, host, n);
  }

  private static JsonNode api(ControlPlane cp, String path) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + cp.api.port() + path)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }
}
