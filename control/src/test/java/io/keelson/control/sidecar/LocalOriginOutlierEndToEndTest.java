package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.PortLevelSettingsEndToEndTest.port;
import static io.keelson.control.sidecar.PortLevelSettingsEndToEndTest.served;
import static io.keelson.control.sidecar.PortLevelSettingsEndToEndTest.server;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Outlier detection on local-origin errors ({@code splitExternalLocalOriginErrors}) over the wire: a STATIC
 * ServiceEntry's three endpoints are a server answering 200, one answering 500, and a port nobody listens on (the
 * connection is refused). With 5xx counting off ({@code consecutive5xxErrors: 0}) and one local-origin failure
 * ejecting, the sidecar stops trying the refusing endpoint after its first refusal (its 503s stop), and keeps sending
 * to the one answering 500.
 */
class LocalOriginOutlierEndToEndTest {
  @Test
  void aRefusingEndpointIsEjectedWhileFiveXxAnswersAreNotCounted() throws Exception {
    HttpServer good = server(200, "good");
    HttpServer failing = server(500, "failing");
    int refused;
    try (ServerSocket s = new ServerSocket(0)) {
      refused = s.getLocalPort(); // closed again: connections to it are refused
    }
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("entries.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: frontend }
          spec:
            ports: [ { name: http, port: 80 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: api }
          spec:
            hosts: [ api.example.test ]
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP } ]
            endpoints:
            - { address: 127.0.0.1, ports: { http: %d } }
            - { address: 127.0.0.1, ports: { http: %d } }
            - { address: 127.0.0.1, ports: { http: %d } }
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: api }
          spec:
            host: api.example.test
            trafficPolicy:
              outlierDetection:
                consecutive5xxErrors: 0
                splitExternalLocalOriginErrors: true
                consecutiveLocalOriginFailures: 1
                baseEjectionTime: 300s
                maxEjectionPercent: 100
          """.formatted(port(good), port(failing), refused)).policies(), false);
      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.example.test", 3).containsKey("good"));

      // At most the one refusal that ejects it shows (the proxy's 503); then only the two that answer.
      Map<String, Integer> warmup = served(outbound, "api.example.test", 6);
      assertThat(warmup.getOrDefault("status 503", 0)).as("%s", warmup).isLessThanOrEqualTo(1);
      Map<String, Integer> after = served(outbound, "api.example.test", 20);
      assertThat(after).as("the refusing endpoint is out; the 500s are not counted")
          .containsOnly(Map.entry("good", 10), Map.entry("status 500", 10));
    } finally {
      good.stop(0);
      failing.stop(0);
    }
  }
}
