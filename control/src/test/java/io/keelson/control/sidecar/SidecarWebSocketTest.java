package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.WebSocketEchoServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * End to end: a WebSocket app in the mesh. The JDK's WebSocket client (its own JVM) through the caller's sidecar, over
 * STRICT mTLS, through the destination's sidecar to a Netty RFC 6455 echo server: the upgrade passes both connection
 * managers (upgrade_configs websocket, as istiod sets them), text and binary come back, the close handshake completes.
 * The same from outside through an ingress gateway (Istio Gateway + VirtualService). Both fail without the control
 * plane's upgrade_configs (the first connection manager answers the Upgrade with 403).
 */
class SidecarWebSocketTest {
  @Test
  void aWebSocketCrossesTwoMtlsSidecarsToTheApp() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        WebSocketEchoServer app = new WebSocketEchoServer();
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = SidecarMtlsTest.secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES + """
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> !SidecarMtlsTest.inbound(product).plaintextToo()
          && web.xds().lastSnapshot().clusters().containsKey("product-service")
          && web.xds().lastSnapshot().clusters().get("product-service").tls() != null);

      assertThat(JdkWebSocketClient.run(web.outboundAddress().getPort(), "product-service"))
          .containsExactly("open", "text echo:hello", "binary equal", "closed 1000", "exit 0");
      assertThat(app.handshakes.poll(10, TimeUnit.SECONDS).headers().get("x-forwarded-client-cert"))
          .as("it came over mTLS from the caller's sidecar").contains("URI=spiffe://cluster.local/ns/default/sa/web");
      assertThat(product.server().stats().tls("listener.inbound").handshake.sum()).isPositive();
      await().atMost(Duration.ofSeconds(10)).until(() -> app.open.get() == 0);
    }
  }

  @Test
  void aWebSocketCrossesAnIngressGatewayAndTheAppsMtlsSidecar() throws Exception {
    int http = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        WebSocketEchoServer app = new WebSocketEchoServer();
        Sidecar product = SidecarMtlsTest.secureSidecar(cp, "product-service", "product", app.port());
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1",
            "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", SidecarMtlsTest.SERVICES + """
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: default, namespace: default }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: { name: ingress, namespace: istio-system }
          spec:
            selector: { istio: ingressgateway }
            servers:
            - port: { number: %d, name: http, protocol: HTTP }
              hosts: [ chat.example.com ]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: chat }
          spec:
            hosts: [ chat.example.com ]
            gateways: [ istio-system/ingress ]
            http:
            - route: [ { destination: { host: product-service, port: { number: 80 } } } ]
          """.formatted(http)).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> !SidecarMtlsTest.inbound(product).plaintextToo()
          && gateway.server().snapshot().config().listeners().stream().anyMatch(l -> l.name().endsWith("_" + http))
          && gateway.xds().lastSnapshot().clusters().values().stream().anyMatch(c -> c.tls() != null));

      assertThat(JdkWebSocketClient.run(http, "chat.example.com"))
          .containsExactly("open", "text echo:hello", "binary equal", "closed 1000", "exit 0");
      assertThat(app.handshakes.poll(10, TimeUnit.SECONDS).headers().get("x-forwarded-client-cert"))
          .as("over mTLS from the gateway").contains("URI=" + IngressGatewayTest.GATEWAY_ID);
    }
  }
}
