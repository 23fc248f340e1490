package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Session affinity from a DestinationRule's {@code consistentHash}, through a real control plane and sidecars: three
 * instances of a service each behind its own sidecar; a client sidecar's requests with one {@code x-user} all reach one
 * instance (round robin spread them before the rule), and with an {@code httpCookie} key the sidecar generates the
 * cookie on the first answer and the requests carrying it stick to one instance.
 */
class ConsistentHashEndToEndTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: cart }
      spec:
        ports: [ { name: http, port: 80 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 80 } ]
      """;

  @Test
  void requestsWithOneKeyStickToOneInstance() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SampleService a = new SampleService("cart", "a").start("127.0.0.1", 0);
        SampleService b = new SampleService("cart", "b").start("127.0.0.1", 0);
        SampleService c = new SampleService("cart", "c").start("127.0.0.1", 0);
        Sidecar sa = SidecarEndToEndTest.sidecar(cp, "cart", Map.of("version", "a"), a.port());
        Sidecar sb = SidecarEndToEndTest.sidecar(cp, "cart", Map.of("version", "b"), b.port());
        Sidecar sc = SidecarEndToEndTest.sidecar(cp, "cart", Map.of("version", "c"), c.port());
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> byUser(outbound, "u0", 30).keySet().equals(Set.of("cart-a", "cart-b", "cart-c")));
      // Before the rule: one user's requests are spread (round robin), so what follows is the rule's doing.
      assertThat(byUser(outbound, "u1", 9)).hasSize(3);

      cp.store.apply(PolicyParser.parse("dr.yaml", """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: cart }
          spec:
            host: cart
            trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> byUser(outbound, "u1", 12).size() == 1);
      Set<String> instances = new HashSet<>();
      for (int u = 0; u < 20; u++) {
        Map<String, Integer> served = byUser(outbound, "user-" + u, 8);
        assertThat(served).as("user-%d", u).hasSize(1);
        assertThat(served.values()).containsExactly(8);
        instances.addAll(served.keySet());
      }
      assertThat(instances).as("20 users over a ring of three instances").hasSizeGreaterThanOrEqualTo(2)
          .allMatch(i -> i.startsWith("cart-"));

      cp.store.apply(PolicyParser.parse("dr.yaml", """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: cart }
          spec:
            host: cart
            trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: cart-session, ttl: 0s, path: / } } } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> sessionCookie(outbound) != null);
      Set<String> sessions = new HashSet<>();
      for (int i = 0; i < 8; i++) {
        String cookie = sessionCookie(outbound);
        assertThat(cookie).startsWith("cart-session=");
        Map<String, Integer> served = new TreeMap<>();
        try (RawHttp http = new RawHttp(outbound)) {
          for (int n = 0; n < 8; n++) {
            RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: cart\r\nCookie: " + cookie + "\r\n\r\n").read();
            assertThat(r.header("set-cookie")).as("a request with the cookie gets no new one").isNull();
            served.merge(r.status() == 200 ? r.header("x-served-by") : "status " + r.status(), 1, Integer::sum);
          }
        }
        assertThat(served).as("session %s", cookie).hasSize(1);
        sessions.addAll(served.keySet());
      }
      assertThat(sessions).allMatch(i -> i.startsWith("cart-"));
    }
  }

  /** n requests for {@code user} over one connection; x-served-by (or the status) counted. */
  private static Map<String, Integer> byUser(int port, String user, int n) throws Exception {
    return byUser(port, "cart", user, n);
  }

  /** x-served-by of {@code n} requests to {@code host} with {@code x-user: user} on one connection, counted. */
  static Map<String, Integer> byUser(int port, String host, String user, int n) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    try (RawHttp http = new RawHttp(port)) {
      for (int i = 0; i < n; i++) {
        RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\nx-user: " + user + "\r\n\r\n")
            .read();
        counts.merge(r.status() == 200 ? r.header("x-served-by") : "status " + r.status(), 1, Integer::sum);
      }
    }
    return counts;
  }

  /** The {@code name=value} of the cookie the sidecar sets on a request without one, or null when none is set. */
  private static String sessionCookie(int port) throws Exception {
    try (RawHttp http = new RawHttp(port)) {
      RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: cart\r\n\r\n").read();
      String set = r.status() == 200 ? r.header("set-cookie") : null;
      return set == null ? null : set.split(";", 2)[0];
    }
  }
}
