package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.xds.Mesh;
import io.keelson.control.xds.NodeRegistration;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/keelson get gateway|httproute|tcproute NAME -o yaml} against a control plane in this JVM: the Gateway API
 * status computed from the current state and the connected gateway proxies. Before a gateway proxy connects the
 * Gateway is Accepted but not Programmed (Pending); once a gateway proxy with its label connects (over the plaintext
 * xDS port, so its HTTPS listener gets no certificate and no chain) the Gateway is Programmed by its HTTP listener while
 * the HTTPS listener stays Pending; each listener counts the routes attached to it, and each route's parents say
 * Accepted/ResolvedRefs; {@code explain --gateway} at its TCP port names the TCPRoute's cluster.
 */
class GatewayStatusCliTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir
  Path tmp;

  @Test
  void getWithOutputYamlShowsTheGatewayApiStatusComputedFromTheStateAndTheConnectedGatewayProxies() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, tmp.resolve("data"),
        15001))) {
      String server = "http://127.0.0.1:" + cp.api.port();
      Path mesh = tmp.resolve("gw.yaml");
      Files.writeString(mesh, mesh());
      CliRun.Result applied = cli("apply", "-f", mesh.toString(), "--server", server);
      assertThat(applied.code()).as(applied.err()).isZero();

      JsonNode pending = status(cli("get", "gateway", "edge", "-o", "yaml", "--server", server));
      assertThat(conditions(pending.path("conditions"))).containsExactly("Accepted=True/Accepted",
          "Programmed=False/Pending");
      assertThat(pending.path("conditions").get(1).path("message").asText())
          .contains("no gateway proxy labelled {gateway.networking.k8s.io/gateway-name=edge} is connected");
      assertThat(pending.path("listeners")).extracting(l -> l.path("name").asText() + " "
          + l.path("attachedRoutes").asInt()).containsExactly("http 1", "https 0", "tcp 1");
      assertThat(conditions(pending.path("listeners").get(0).path("conditions"))).containsExactly(
          "Accepted=True/Accepted", "Conflicted=False/NoConflicts", "ResolvedRefs=True/ResolvedRefs",
          "Programmed=False/Pending");
      assertThat(pending.path("listeners").get(2).path("supportedKinds").toString()).contains("TCPRoute");
      CliRun.Result plain = cli("get", "gateway", "edge", "--server", server);
      assertThat(plain.out()).as("without -o yaml: the document only").doesNotContain("status:");

      Node gateway = Node.newBuilder().setId("edge-gw").setMetadata(Struct.newBuilder()
          .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
          .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder().putFields(
              "gateway.networking.k8s.io/gateway-name", Value.newBuilder().setStringValue("edge").build())).build()))
          .build();
      try (XdsClient gw = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.xds.port(), false, gateway), s -> { })) {
        await().atMost(Duration.ofSeconds(20)).until(() -> conditions(status(cli("get", "gateway", "edge", "-o",
            "yaml", "--server", server)).path("conditions")).contains("Programmed=True/Programmed"));
        JsonNode programmed = status(cli("get", "gateway", "edge", "-o", "yaml", "--server", server));
        assertThat(programmed.path("conditions").get(1).path("message").asText()).contains("edge-gw");
        assertThat(conditions(programmed.path("listeners").get(0).path("conditions")))
            .contains("Programmed=True/Programmed");
        // A plaintext xDS connection gets no certificate: the HTTPS listener has no filter chain on it.
        assertThat(conditions(programmed.path("listeners").get(1).path("conditions")))
            .contains("ResolvedRefs=True/ResolvedRefs", "Programmed=False/Pending");
        assertThat(conditions(programmed.path("listeners").get(2).path("conditions")))
            .contains("Programmed=True/Programmed");

        // explain at the gateway's TCP port: its one chain and the TCPRoute's cluster, through the CLI and the API.
        CliRun.Result explained = cli("explain", "--gateway", "edge-gw", "--port", "15432", "--to", "db.example.com",
            "--server", server);
        assertThat(explained.code()).as(explained.err()).isZero();
        assertThat(explained.out()).contains("listener '0.0.0.0_15432'", "a TCP port: no SNI is read",
            "result: relayed (tcp_proxy)", "-> cluster db ");
      }

      JsonNode route = status(cli("get", "httproute", "shop", "-o", "yaml", "--server", server));
      JsonNode parent = route.path("parents").get(0);
      assertThat(parent.path("parentRef").toString()).contains("\"kind\":\"Gateway\"", "\"namespace\":\"edge\"",
          "\"name\":\"edge\"");
      assertThat(parent.path("controllerName").asText()).isEqualTo("keelson.io/gateway-controller");
      assertThat(conditions(parent.path("conditions"))).containsExactly("Accepted=True/Accepted",
          "ResolvedRefs=True/ResolvedRefs");
      assertThat(parent.path("conditions").get(0).path("message").asText()).contains("[http]");
      JsonNode tcp = status(cli("get", "tcproute", "db", "-o", "yaml", "--server", server));
      assertThat(tcp.path("parents").get(0).path("parentRef").path("sectionName").asText()).isEqualTo("tcp");
      assertThat(conditions(tcp.path("parents").get(0).path("conditions"))).containsExactly("Accepted=True/Accepted",
          "ResolvedRefs=True/ResolvedRefs");
      CliRun.Result bad = cli("get", "gateway", "edge", "-o", "json", "--server", server);
      assertThat(bad.code()).isNotZero();
      assertThat(bad.err()).contains("-o 'json' is not an output format; expected yaml");
    }
  }

  /** The {@code status} of the one document a {@code get ... -o yaml} printed. */
  private static JsonNode status(CliRun.Result r) throws Exception {
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode doc = YAML.readTree(r.out());
    assertThat(doc.has("status")).as(r.out()).isTrue();
    return doc.path("status");
  }

  private static List<String> conditions(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(c -> out.add(c.path("type").asText() + "=" + c.path("status").asText() + "/"
        + c.path("reason").asText()));
    return out;
  }

  private static String mesh() throws Exception {
    TestCa ca = new TestCa("status-ca");
    var cert = ca.issue("shop.example.com", "shop.example.com");
    return Mesh.registry(9001, 9002) + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: db }
        spec: { ports: [ { name: tcp, port: 5432, protocol: TCP } ] }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: shop-cert, namespace: edge }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - { name: http, port: 18080, protocol: HTTP, allowedRoutes: { namespaces: { from: All } } }
          - name: https
            port: 18443
            protocol: HTTPS
            tls: { mode: Terminate, certificateRefs: [ { name: shop-cert } ] }
          - { name: tcp, port: 15432, protocol: TCP, allowedRoutes: { namespaces: { from: All } } }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: shop }
        spec:
          parentRefs: [ { name: edge, namespace: edge } ]
          hostnames: [ shop.example.com ]
          rules: [ { backendRefs: [ { name: product-service, port: 80 } ] } ]
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TCPRoute
        metadata: { name: db }
        spec:
          parentRefs: [ { name: edge, namespace: edge, sectionName: tcp } ]
          rules: [ { backendRefs: [ { name: db, port: 5432 } ] } ]
        """.formatted(b64(cert.certPem()), b64(cert.keyPem()));
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }
}
