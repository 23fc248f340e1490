package io.keelson.dataplane.balance;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.RawHttp;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A route's hash_policy sends each key to one upstream, across connections and event loops, on both wirings. */
class HashPolicyProxyTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route:
                        cluster: svc
                        hash_policy:
                        - header: { header_name: x-user }
                          terminal: true
                        - query_parameter: { name: u }
      """;

  @ParameterizedTest
  @CsvSource({"MAGLEV, INLINE", "RING_HASH, INLINE", "MAGLEV, DISRUPTOR", "RING_HASH, DISRUPTOR"})
  void eachKeyAlwaysReachesTheSameUpstreamAndKeysSpread(String policy, PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b"); TestUpstream c = new TestUpstream("c");
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("svc", policy, a.port(), b.port(), c.port())), mode)) {
      Set<String> used = new HashSet<>();
      for (int user = 0; user < 20; user++) {
        String first = proxy.get("/", "x-user", "user-" + user).headers().firstValue("x-upstream").orElseThrow();
        for (int i = 0; i < 5; i++) {
          assertThat(proxy.get("/", "x-user", "user-" + user).headers().firstValue("x-upstream")).hasValue(first);
        }
        assertThat(proxy.get("/?u=user-" + user).headers().firstValue("x-upstream")).as("same key by query parameter").isNotEmpty();
        used.add(first);
      }
      assertThat(used).hasSizeGreaterThanOrEqualTo(2);
      String byQuery = proxy.get("/?u=k1").headers().firstValue("x-upstream").orElseThrow();
      for (int i = 0; i < 5; i++) {
        assertThat(proxy.get("/?u=k1").headers().firstValue("x-upstream")).hasValue(byQuery);
      }
    }
  }

  private static final String COOKIE_VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route:
                        cluster: svc
                        hash_policy:
                        - cookie: { name: sticky, ttl: 3600s, path: /app }
      """;

  @ParameterizedTest
  @CsvSource({"MAGLEV, INLINE", "RING_HASH, DISRUPTOR"})
  void aCookiePolicyWithTtlSetsTheCookieAndLaterRequestsWithItStick(String policy, PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); TestUpstream b = new TestUpstream("b"); TestUpstream c = new TestUpstream("c");
        ProxyHarness proxy = new ProxyHarness(bootstrap(COOKIE_VHOSTS, cluster("svc", policy, a.port(), b.port(), c.port())), mode)) {
      Map<String, String> upstreamByCookie = new HashMap<>();
      for (int client = 0; client < 12; client++) {
        String cookie;
        String first;
        try (RawHttp http = new RawHttp(proxy.port())) { // a new connection: a new generated cookie
          RawHttp.Response r = http.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(200);
          String setCookie = r.header("set-cookie");
          assertThat(setCookie).as("the first response sets the cookie").matches("sticky=\"[0-9a-f]{16}\"; Max-Age=3600; Path=/app; HttpOnly");
          cookie = setCookie.substring("sticky=".length(), setCookie.indexOf(';'));
          first = r.header("x-upstream");
        }
        upstreamByCookie.put(cookie, first);
        for (int i = 0; i < 4; i++) {
          try (RawHttp http = new RawHttp(proxy.port())) { // other connections, carrying the cookie
            RawHttp.Response r = http.send("GET / HTTP/1.1\r\nHost: x\r\nCookie: other=1; sticky=" + cookie + "\r\n\r\n").read();
            assertThat(r.header("x-upstream")).as("a request with the cookie sticks").isEqualTo(first);
            assertThat(r.header("set-cookie")).as("no new cookie when the request has one").isNull();
          }
        }
      }
      assertThat(new HashSet<>(upstreamByCookie.values())).as("different cookies spread").hasSizeGreaterThanOrEqualTo(2);
    }
  }
}
