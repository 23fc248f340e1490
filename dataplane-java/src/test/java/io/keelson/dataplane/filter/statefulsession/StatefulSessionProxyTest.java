package io.keelson.dataplane.filter.statefulsession;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.stateful_session through a real proxy to three real HTTP upstreams, with curl (HTTP/1.1 and
 * HTTP/2 prior knowledge) as the client, on both pipeline wirings: a session's cookie or header pins it to one upstream
 * across connections and endpoint changes, a removed upstream re-balances it with a fresh cookie, strict answers 503.
 */
class StatefulSessionProxyTest {
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private static String filter(String sessionState, boolean strict) {
    return """
                  - name: envoy.filters.http.stateful_session
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession
                      strict: %s
                      session_state:
        %s
        """.formatted(strict, sessionState.stripTrailing().indent(16).stripTrailing());
  }

  private static final String COOKIE = """
      name: envoy.http.stateful_session.cookie
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState
        cookie: { name: global-session-cookie, path: /path, ttl: 120s }
      """;

  private static final String HEADER = """
      name: envoy.http.stateful_session.header
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState
        name: x-session
      """;

  /** Routes: "/" with the session, "/off" with the filter disabled per route. */
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/off" }
                      route: { cluster: svc }
                      typed_per_filter_config:
                        envoy.filters.http.stateful_session:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute
                          disabled: true
                    - match: { prefix: "/" }
                      route: { cluster: svc }
      """;

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aCookiePinsTheSessionAcrossNewEndpointsAndIsRenewedWhenItsHostGoes(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b", "c", "d");
    String three = cluster("svc", "ROUND_ROBIN", ports(ups, "a", "b", "c"));
    ProxyHarness proxy = keep(new ProxyHarness(bootstrap(VHOSTS, three, filter(COOKIE, false)), mode));

    Map<String, String> first = curl("--http1.1", url(proxy, "/"));
    assertThat(first.get(":status")).isEqualTo("200");
    String pinned = first.get("x-upstream");
    String setCookie = first.get("set-cookie");
    assertThat(setCookie).as("the first response sets the cookie as Envoy writes it")
        .matches("global-session-cookie=\"[A-Za-z0-9+/=]+\"; Max-Age=120; Path=/path; HttpOnly");
    String cookie = setCookie.substring("global-session-cookie=\"".length(), setCookie.indexOf("\";"));
    assertThat(new String(Base64.getDecoder().decode(cookie), StandardCharsets.US_ASCII))
        .isEqualTo("127.0.0.1:" + ups.get(pinned).port());

    String withCookie = "Cookie: other=1; global-session-cookie=\"" + cookie + "\"";
    for (int i = 0; i < 6; i++) { // round robin would rotate: the session does not
      Map<String, String> r = curl("--http1.1", "-H", withCookie, url(proxy, "/"));
      assertThat(r.get("x-upstream")).isEqualTo(pinned);
      assertThat(r.get("set-cookie")).as("no cookie when the host is the session's").isNull();
    }
    assertThat(spread(proxy, "/off", withCookie)).as("disabled per route: balanced").hasSizeGreaterThanOrEqualTo(2);

    proxy.server.update(BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster("svc", "ROUND_ROBIN", ports(ups, "d", "c", "b", "a")),
        filter(COOKIE, false)), "test.yaml"));
    for (int i = 0; i < 6; i++) {
      assertThat(curl("--http1.1", "-H", withCookie, url(proxy, "/")).get("x-upstream")).as("a new endpoint moves nothing").isEqualTo(pinned);
    }

    List<String> rest = new ArrayList<>(List.of("a", "b", "c"));
    rest.remove(pinned);
    proxy.server.update(BootstrapLoader.fromYaml(bootstrap(VHOSTS, cluster("svc", "ROUND_ROBIN", ports(ups, rest.get(0), rest.get(1))),
        filter(COOKIE, false)), "test.yaml"));
    Map<String, String> moved = curl("--http1.1", "-H", withCookie, url(proxy, "/"));
    assertThat(moved.get(":status")).isEqualTo("200");
    assertThat(moved.get("x-upstream")).isIn(rest);
    String renewed = moved.get("set-cookie");
    assertThat(renewed).as("the session's host is gone: balanced, with a fresh cookie").isNotNull();
    String fresh = renewed.substring("global-session-cookie=\"".length(), renewed.indexOf("\";"));
    assertThat(new String(Base64.getDecoder().decode(fresh), StandardCharsets.US_ASCII))
        .isEqualTo("127.0.0.1:" + ups.get(moved.get("x-upstream")).port());
    for (int i = 0; i < 4; i++) {
      assertThat(curl("--http1.1", "-H", "Cookie: global-session-cookie=" + fresh, url(proxy, "/")).get("x-upstream"))
          .isEqualTo(moved.get("x-upstream"));
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aHeaderPinsTheSessionOverHttp2AndAMalformedValueIsBalanced(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b", "c");
    ProxyHarness proxy = keep(new ProxyHarness(bootstrap(VHOSTS, cluster("svc", "ROUND_ROBIN", ports(ups, "a", "b", "c")),
        filter(HEADER, false)), mode));
    Map<String, String> first = curl("--http2-prior-knowledge", url(proxy, "/"));
    assertThat(first.get(":version")).isEqualTo("HTTP/2");
    String session = first.get("x-session");
    assertThat(session).as("the response header names the host").isNotNull();
    assertThat(new String(Base64.getDecoder().decode(session), StandardCharsets.US_ASCII))
        .isEqualTo("127.0.0.1:" + ups.get(first.get("x-upstream")).port());
    for (int i = 0; i < 6; i++) {
      Map<String, String> r = curl("--http2-prior-knowledge", "-H", "x-session: " + session, url(proxy, "/"));
      assertThat(r.get("x-upstream")).isEqualTo(first.get("x-upstream"));
      assertThat(r.get("x-session")).as("unchanged host: no header").isNull();
    }
    for (String bad : List.of("%%%not-base64", "aGVsbG8", "")) { // "hello": decodes, names no endpoint
      Map<String, String> r = curl("--http1.1", "-H", "x-session: " + bad, url(proxy, "/"));
      assertThat(r.get(":status")).as("malformed %s", bad).isEqualTo("200");
      assertThat(r.get("x-session")).isNotNull();
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void strictAnswers503WhenTheSessionsHostIsUnavailable(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b");
    ProxyHarness proxy = keep(new ProxyHarness(bootstrap(VHOSTS, cluster("svc", "ROUND_ROBIN", ports(ups, "a", "b")),
        filter(COOKIE, true)), mode));
    String gone = Base64.getEncoder().encodeToString("127.0.0.1:1".getBytes(StandardCharsets.US_ASCII));
    for (String version : List.of("--http1.1", "--http2-prior-knowledge")) {
      assertThat(curl(version, "-H", "Cookie: global-session-cookie=" + gone, url(proxy, "/")).get(":status")).isEqualTo("503");
      assertThat(curl(version, "-H", "Cookie: global-session-cookie=%%%", url(proxy, "/")).get(":status"))
          .as("a value that does not decode names no host: balanced").isEqualTo("200");
      Map<String, String> fresh = curl(version, url(proxy, "/"));
      assertThat(fresh.get(":status")).isEqualTo("200");
      assertThat(fresh.get("set-cookie")).isNotNull();
    }
  }

  private static final String RETRYING_VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/" }
                      route:
                        cluster: svc
                        retry_policy:
                          retry_on: 5xx
                          num_retries: 1
                          retry_back_off: { base_interval: 0.005s }
                          retry_host_predicate:
                          - name: envoy.retry_host_predicates.previous_hosts
                          host_selection_retry_max_attempts: 3
      """;

  /**
   * A retry is balanced without the session's host (as Envoy's), and the response tells the client the host that
   * served it, as Envoy's filter writes the session state from the response's upstream host: one Set-Cookie naming
   * it, replacing the first try's when that one was a balanced pick too.
   */
  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRetryIsBalancedWithoutTheSessionsHostAndTheCookieNamesTheHostThatServed(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b");
    ProxyHarness proxy = retrying(ups, COOKIE, mode);
    String a = encoded(ups.get("a"));
    String servedByB = "global-session-cookie=\"" + encoded(ups.get("b")) + "\"; Max-Age=120; Path=/path; HttpOnly";
    for (String version : List.of("--http1.1", "--http2-prior-knowledge")) {
      int before = ups.get("a").requests.get();
      Map<String, String> r = curl(version, "-H", "Cookie: global-session-cookie=" + a, url(proxy, "/"));
      assertThat(r.get(":status")).as("the first try goes to the session's host; the retry (as Envoy's) does not").isEqualTo("200");
      assertThat(r.get("x-upstream")).isEqualTo("b");
      assertThat(ups.get("a").requests.get()).isEqualTo(before + 1);
      assertThat(r.get("set-cookie")).as("the session moves to the host that served").isEqualTo(servedByB);

      before = ups.get("a").requests.get();
      for (int i = 0; i < 4; i++) { // no cookie: round robin sends some first tries to a, whose cookie the retry replaces
        Map<String, String> fresh = curl(version, url(proxy, "/"));
        assertThat(fresh.get("x-upstream")).isEqualTo("b");
        assertThat(fresh.get("set-cookie")).as("one Set-Cookie, naming b").isEqualTo(servedByB);
      }
      assertThat(ups.get("a").requests.get()).as("first tries on a").isGreaterThan(before);
    }
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aRetryMovesAHeaderSessionToTheHostThatServed(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b");
    ProxyHarness proxy = retrying(ups, HEADER, mode);
    for (String version : List.of("--http1.1", "--http2-prior-knowledge")) {
      Map<String, String> r = curl(version, "-H", "x-session: " + encoded(ups.get("a")), url(proxy, "/"));
      assertThat(r.get("x-upstream")).isEqualTo("b");
      assertThat(r.get("x-session")).isEqualTo(encoded(ups.get("b")));
    }
  }

  /** A proxy retrying 5xx once on another host, with session state {@code state}; upstream a answers 503. */
  private ProxyHarness retrying(Map<String, TestUpstream> ups, String state, PipelineMode mode) throws Exception {
    ups.get("a").forceStatus = 503;
    return keep(new ProxyHarness(bootstrap(RETRYING_VHOSTS, cluster("svc", "ROUND_ROBIN", ports(ups, "a", "b")),
        filter(state, false)), mode));
  }

  private static String encoded(TestUpstream up) {
    return Base64.getEncoder().encodeToString(("127.0.0.1:" + up.port()).getBytes(StandardCharsets.US_ASCII));
  }

  /** Two upstreams health-checked every 0.1 s; {@code common} is the cluster's common_lb_config, or "". */
  private static String checkedCluster(String common, int... ports) {
    return cluster("svc", "ROUND_ROBIN", ports).replace("    lb_policy: ROUND_ROBIN\n", """
            lb_policy: ROUND_ROBIN
            health_checks:
            - { timeout: 2s, interval: 0.1s, no_traffic_interval: 0.1s, unhealthy_threshold: 1, healthy_threshold: 1,
                http_health_check: { path: /healthz } }
        """ + common);
  }

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aHostFailingHealthChecksIsLeftUnlessOverrideHostStatusAllowsIt(PipelineMode mode) throws Exception {
    Map<String, TestUpstream> ups = upstreams("a", "b");
    String a = Base64.getEncoder().encodeToString(("127.0.0.1:" + ups.get("a").port()).getBytes(StandardCharsets.US_ASCII));
    String withCookie = "Cookie: global-session-cookie=" + a;
    ProxyHarness proxy = keep(new ProxyHarness(bootstrap(VHOSTS, checkedCluster("", ports(ups, "a", "b")),
        filter(COOKIE, false)), mode));
    assertThat(curl("--http1.1", "-H", withCookie, url(proxy, "/")).get("x-upstream")).isEqualTo("a");
    ups.get("a").forceStatus = 503; // its health checks fail too
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .until(() -> "b".equals(curl("--http1.1", "-H", withCookie, url(proxy, "/")).get("x-upstream")));
    Map<String, String> moved = curl("--http1.1", "-H", withCookie, url(proxy, "/"));
    assertThat(moved.get("set-cookie")).as("re-balanced with a fresh cookie").contains(
        Base64.getEncoder().encodeToString(("127.0.0.1:" + ups.get("b").port()).getBytes(StandardCharsets.US_ASCII)));

    proxy.server.update(BootstrapLoader.fromYaml(bootstrap(VHOSTS, checkedCluster("""
            common_lb_config: { override_host_status: { statuses: [ HEALTHY, UNHEALTHY ] } }
        """, ports(ups, "a", "b")), filter(COOKIE, false)), "test.yaml"));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .until(() -> "a".equals(curl("--http1.1", "-H", withCookie, url(proxy, "/")).get("x-upstream")));
    assertThat(curl("--http1.1", "-H", withCookie, url(proxy, "/")).get(":status"))
        .as("UNHEALTHY allowed: the session stays on its failing host").isEqualTo("503");

    proxy.server.update(BootstrapLoader.fromYaml(bootstrap(VHOSTS, checkedCluster("", ports(ups, "a", "b")),
        filter(COOKIE, true)), "test.yaml"));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .until(() -> "no healthy upstream".equals(body(proxy, withCookie)));
  }

  private static String body(ProxyHarness proxy, String header) throws Exception {
    Process p = new ProcessBuilder("curl", "-sS", "-m", "10", "--http1.1", "-H", header, url(proxy, "/")).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(20, TimeUnit.SECONDS);
    return out.strip();
  }

  private Set<String> spread(ProxyHarness proxy, String path, String header) throws Exception {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      seen.add(curl("--http1.1", "-H", header, url(proxy, path)).get("x-upstream"));
    }
    return seen;
  }

  private Map<String, TestUpstream> upstreams(String... names) throws Exception {
    Map<String, TestUpstream> out = new HashMap<>();
    for (String n : names) {
      out.put(n, keep(new TestUpstream(n)));
    }
    return out;
  }

  private static int[] ports(Map<String, TestUpstream> ups, String... names) {
    int[] out = new int[names.length];
    for (int i = 0; i < names.length; i++) {
      out[i] = ups.get(names[i]).port();
    }
    return out;
  }

  private <T extends AutoCloseable> T keep(T c) {
    open.add(c);
    return c;
  }

  private static String url(ProxyHarness proxy, String path) {
    return "http://127.0.0.1:" + proxy.port() + path;
  }

  /** Real curl: the response's header fields (lower-case names, the last of each), ":status" and ":version". */
  static Map<String, String> curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-m", "10", "-o", "/dev/null", "-D", "-"));
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    Map<String, String> headers = new HashMap<>();
    for (String line : out.split("\r\n")) {
      if (line.startsWith("HTTP/")) {
        String[] parts = line.split(" ");
        headers.put(":version", parts[0]);
        headers.put(":status", parts[1]);
      } else if (line.indexOf(':') > 0) {
        headers.merge(line.substring(0, line.indexOf(':')).toLowerCase(java.util.Locale.ROOT),
            line.substring(line.indexOf(':') + 1).trim(), (first, next) -> first + "\n" + next); // repeated: one a line
      }
    }
    assertThat(headers).as("curl %s: %s", cmd, out).containsKey(":status");
    return headers;
  }
}
