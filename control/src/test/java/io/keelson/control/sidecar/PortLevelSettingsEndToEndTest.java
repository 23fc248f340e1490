package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A DestinationRule's {@code portLevelSettings} over the wire: a real control plane and sidecar, a STATIC ServiceEntry
 * with two HTTP ports whose two endpoints are local servers, one answering 200 and one 503. Only port 80's entry sets
 * outlier detection: through the sidecar, port 80's requests stop reaching the failing endpoint after its first 503,
 * while port 8080's (the rule's policy: no outlier detection) keep being spread over both.
 */
class PortLevelSettingsEndToEndTest {
  @Test
  void onePortsOutlierDetectionEjectsWhileTheOtherPortKeepsBalancingOverBoth() throws Exception {
    HttpServer good = server(200, "good");
    HttpServer bad = server(503, "bad");
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
            ports:
            - { number: 80, name: http, protocol: HTTP }
            - { number: 8080, name: admin, protocol: HTTP }
            endpoints:
            - { address: 127.0.0.1, ports: { http: %d, admin: %d } }
            - { address: 127.0.0.1, ports: { http: %d, admin: %d } }
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: api }
          spec:
            host: api.example.test
            trafficPolicy:
              portLevelSettings:
              - port: { number: 80 }
                outlierDetection: { consecutive5xxErrors: 1, baseEjectionTime: 300s, maxEjectionPercent: 100 }
          """.formatted(port(good), port(good), port(bad), port(bad))).policies(), false);
      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> served(outbound, "api.example.test:8080", 4).containsKey("good"));

      // Port 8080: the rule's own policy (none), so round robin keeps sending half the requests to the failing one.
      assertThat(served(outbound, "api.example.test:8080", 20)).containsOnly(Map.entry("good", 10),
          Map.entry("status 503", 10));
      // Port 80: at most one 503 before the endpoint is ejected, then every request is the good endpoint's.
      Map<String, Integer> first = served(outbound, "api.example.test:80", 4);
      assertThat(first.getOrDefault("status 503", 0)).isLessThanOrEqualTo(1);
      assertThat(served(outbound, "api.example.test:80", 20)).containsOnly(Map.entry("good", 20));
      // Port 8080 still balances over both: the ejection was port 80's cluster's only.
      assertThat(served(outbound, "api.example.test:8080", 20)).containsOnly(Map.entry("good", 10),
          Map.entry("status 503", 10));
    } finally {
      good.stop(0);
      bad.stop(0);
    }
  }

  /** A local HTTP server answering every request with {@code status} and body {@code name}. */
  static HttpServer server(int status, String name) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/", exchange -> {
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("x-served-by", name);
      exchange.sendResponseHeaders(status, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    s.start();
    return s;
  }

  static int port(HttpServer s) {
    return s.getAddress().getPort();
  }

  /** n requests with this Host over one connection; x-served-by counted for a 200, else the status. */
  static Map<String, Integer> served(int port, String host, int n) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    try (RawHttp http = new RawHttp(port)) {
      for (int i = 0; i < n; i++) {
        RawHttp.Response r = http.send("GET /x HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
        counts.merge(r.status() == 200 ? r.header("x-served-by") : "status " + r.status(), 1, Integer::sum);
      }
    }
    return counts;
  }
}
