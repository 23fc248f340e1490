package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.testing.HaproxyProcess;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code trafficPolicy.proxyProtocol} over the wire: a Gateway API gateway's TCP listener relays
 * to a TCP registry Service whose workload is a HAProxy with {@code accept-proxy}, which answers with the client
 * address it read from the PROXY header. A client bound to 127.0.0.5 is seen as 127.0.0.5 (not the proxy's own
 * 127.0.0.1), with the rule's V1 and then, after the rule changes, with a subset's V2 the route picks.
 */
class DestinationRuleProxyProtocolEndToEndTest {
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: hap }
      spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: hap-1 }
      spec: { service: hap, address: 127.0.0.1, port: %2$d, labels: { version: v1 } }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: edge }
      spec:
        gatewayClassName: keelson
        listeners: [ { name: tcp, port: %1$d, protocol: TCP } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1alpha2
      kind: TCPRoute
      metadata: { name: hap }
      spec:
        parentRefs: [ { name: edge, sectionName: tcp } ]
        rules: [ { backendRefs: [ { name: hap, port: 9000 } ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: hap }
      spec:
        host: hap
        trafficPolicy: { proxyProtocol: { version: %3$s } }
      """;

  @Test
  void theBackendSeesTheClientAddressInTheHeaderV1AndV2() throws Exception {
    Assumptions.assumeTrue(HaproxyProcess.available(), "haproxy is not installed");
    int tcp = IngressGatewayTest.freePort();
    try (HaproxyProcess app = new HaproxyProcess("""
            frontend app
              mode http
              bind 127.0.0.1:%PORT% accept-proxy
              http-request return status 200 content-type text/plain lf-string "client=%ci"
            """);
        ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar gateway = Sidecar.start(SidecarBootstrap.gateway("127.0.0.1", cp.xds.port(), "edge",
            Map.of("gateway.networking.k8s.io/gateway-name", "edge"), "127.0.0.1", "127.0.0.1", 0),
            ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500))) {
      for (String version : java.util.List.of("V1", "V2")) {
        cp.store.apply(PolicyParser.parse("edge.yaml", MESH.formatted(tcp, app.port(), version)).policies(), false);
        // Each version is checked once HAProxy answers at all (the earlier version's header is just as readable).
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
            .untilAsserted(() -> assertThat(get(tcp)).as(version).endsWith("client=127.0.0.5"));
      }
    }
  }

  /** An HTTP/1.0 GET to the gateway from 127.0.0.5; HAProxy's whole answer. */
  private static String get(int port) throws Exception {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.5"), 0));
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(5_000);
      s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
    }
  }
}
