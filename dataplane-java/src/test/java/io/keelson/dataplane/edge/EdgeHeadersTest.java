package io.keelson.dataplane.edge;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.withHcm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Envoy's connection-manager header rules at the edge, through a real proxy and upstream over loopback, for
 * HTTP/1.1 and HTTP/2 clients on both pipeline wirings: an external client's router headers
 * (x-envoy-upstream-rq-timeout-ms, x-envoy-retry-on, ...) are ignored and not forwarded, an internal one's are
 * honoured; x-envoy-internal, x-envoy-external-address, x-forwarded-for and x-forwarded-proto are set as Envoy sets
 * them; xff_num_trusted_hops picks the downstream address, which %DOWNSTREAM_REMOTE_ADDRESS% logs.
 */
class EdgeHeadersTest {
  private static final String TIMEOUT = "x-envoy-upstream-rq-timeout-ms";
  private static final String RETRY_ON = "x-envoy-retry-on";
  private static final String MAX_RETRIES = "x-envoy-max-retries";
  private static final String INTERNAL = "x-envoy-internal";
  private static final String EXTERNAL_ADDRESS = "x-envoy-external-address";
  private static final String LOOPBACK_INTERNAL =
      "internal_address_config: { cidr_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }] }";

  @TempDir
  Path dir;

  static Stream<Arguments> clients() {
    return Stream.of(Arguments.of(false, PipelineMode.INLINE), Arguments.of(true, PipelineMode.INLINE),
        Arguments.of(false, PipelineMode.DISRUPTOR), Arguments.of(true, PipelineMode.DISRUPTOR));
  }

  private static String yaml(int upstreamPort, String... hcmFields) {
    return withHcm(bootstrap(ProxyHarness.allTo("c"), ProxyHarness.cluster("c", "ROUND_ROBIN", upstreamPort)), hcmFields);
  }

  private static int get(ProxyHarness proxy, boolean h2, String path, String... headers) throws Exception {
    if (!h2) {
      HttpResponse<String> r = proxy.get(path, headers);
      return r.statusCode();
    }
    try (H2Client client = new H2Client(proxy.port())) {
      DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
      for (int i = 0; i < headers.length; i += 2) {
        req.headers().add(headers[i], headers[i + 1]);
      }
      FullHttpResponse r = client.send(req).get(10, TimeUnit.SECONDS);
      try {
        return r.status().code();
      } finally {
        r.release();
      }
    }
  }

  @ParameterizedTest(name = "h2={0} {1}")
  @MethodSource("clients")
  void anExternalClientsRouterHeadersAreIgnoredAndNotForwarded(boolean h2, PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(yaml(up.port(), "use_remote_address: true"), mode)) {
      long start = System.nanoTime();
      assertThat(get(proxy, h2, "/delay/1500", TIMEOUT, "100")).as("the route's timeout, not the client's 100 ms")
          .isEqualTo(200);
      assertThat(System.nanoTime() - start).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(1_400));
      assertThat(up.lastHeaders).doesNotContainKeys(TIMEOUT, INTERNAL);
      up.forceStatus = 503;
      int before = up.requests.get();
      assertThat(get(proxy, h2, "/", RETRY_ON, "5xx", MAX_RETRIES, "3", INTERNAL, "true",
          EXTERNAL_ADDRESS, "198.51.100.1", "x-envoy-decorator-operation", "op",
          "x-envoy-force-trace", "1", "x-forwarded-proto", "https", "x-request-id", "client-chosen")).isEqualTo(503);
      assertThat(up.requests.get() - before).as("no retries: the client's x-envoy-retry-on was removed").isEqualTo(1);
      assertThat(up.lastHeaders)
          .doesNotContainKeys(RETRY_ON, MAX_RETRIES, INTERNAL, "x-envoy-decorator-operation",
              "x-envoy-force-trace")
          .containsEntry(EXTERNAL_ADDRESS, "127.0.0.1")
          .containsEntry("x-forwarded-for", "127.0.0.1")
          .as("use_remote_address without trusted hops: the connection's scheme, not the client's")
          .containsEntry("x-forwarded-proto", "http");
      assertThat(up.lastHeaders.get("x-request-id")).as("an edge request gets an id of the proxy's")
          .matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    }
  }

  @ParameterizedTest(name = "h2={0} {1}")
  @MethodSource("clients")
  void anInternalClientsRouterHeadersAreHonoured(boolean h2, PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(yaml(up.port(), "use_remote_address: true", LOOPBACK_INTERNAL), mode)) {
      long start = System.nanoTime();
      assertThat(get(proxy, h2, "/delay/3000", TIMEOUT, "100")).isEqualTo(504);
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.MILLISECONDS.toNanos(2_500));
      up.forceStatus = 503;
      int before = up.requests.get();
      assertThat(get(proxy, h2, "/", RETRY_ON, "5xx", MAX_RETRIES, "2", EXTERNAL_ADDRESS, "x", "x-request-id", "rid-7"))
          .isEqualTo(503);
      assertThat(up.requests.get() - before).as("the client's retry policy: 1 + 2 tries").isEqualTo(3);
      assertThat(up.lastHeaders).doesNotContainKeys(RETRY_ON, MAX_RETRIES)
          .containsEntry(INTERNAL, "true")
          .as("not an edge request: a client's x-envoy-external-address is left alone")
          .containsEntry(EXTERNAL_ADDRESS, "x")
          .containsEntry("x-forwarded-for", "127.0.0.1")
          .as("an internal client's request id is kept").containsEntry("x-request-id", "rid-7");
    }
  }

  @ParameterizedTest(name = "h2={0} {1}")
  @MethodSource("clients")
  void oneTrustedHopTakesTheClientFromXForwardedForAndTheAccessLogFollows(boolean h2, PipelineMode mode)
      throws Exception {
    Path log = dir.resolve("access.log");
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(yaml(up.port(), "use_remote_address: true", "xff_num_trusted_hops: 1",
            LOOPBACK_INTERNAL, ProxyHarness.fileAccessLog(log, "%DOWNSTREAM_REMOTE_ADDRESS% %REQ(:PATH)%\\n")), mode)) {
      up.forceStatus = 503;
      assertThat(get(proxy, h2, "/one", "x-forwarded-for", "203.0.113.7, 192.0.2.10", "x-forwarded-proto", "https",
          RETRY_ON, "5xx")).isEqualTo(503);
      assertThat(up.requests.get()).as("a request through a proxy is never internal (Envoy)").isEqualTo(1);
      assertThat(up.lastHeaders)
          .as("the entry the trusted proxy appended is the client")
          .containsEntry(EXTERNAL_ADDRESS, "192.0.2.10")
          .containsEntry("x-forwarded-for", "203.0.113.7, 192.0.2.10,127.0.0.1")
          .as("a trusted hop's x-forwarded-proto is kept")
          .containsEntry("x-forwarded-proto", "https")
          .doesNotContainKeys(RETRY_ON, INTERNAL);
      assertThat(get(proxy, h2, "/two")).isEqualTo(503);
      assertThat(up.lastHeaders).as("no x-forwarded-for: the peer, internal")
          .containsEntry(INTERNAL, "true").containsEntry("x-forwarded-for", "127.0.0.1")
          .containsEntry("x-forwarded-proto", "http").doesNotContainKey(EXTERNAL_ADDRESS);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.exists(log)
          ? Files.readAllLines(log) : java.util.List.<String>of()).hasSize(2));
      assertThat(Files.readAllLines(log).get(0)).isEqualTo("192.0.2.10:0 /one");
      assertThat(Files.readAllLines(log).get(1)).matches("127\\.0\\.0\\.1:\\d+ /two");
    }
  }

  @ParameterizedTest(name = "h2={0} {1}")
  @MethodSource("clients")
  void withoutUseRemoteAddressASingleInternalXForwardedForIsInternal(boolean h2, PipelineMode mode) throws Exception {
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(yaml(up.port(),
            "internal_address_config: { cidr_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 },"
                + " { address_prefix: 'fd00::', prefix_len: 8 }] }"), mode)) {
      up.forceStatus = 503;
      assertThat(get(proxy, h2, "/", "x-forwarded-for", "10.1.2.3", RETRY_ON, "5xx", MAX_RETRIES, "1")).isEqualTo(503);
      assertThat(up.requests.get()).as("internal: the client's retry policy holds").isEqualTo(2);
      assertThat(up.lastHeaders).containsEntry(INTERNAL, "true")
          .as("x-forwarded-for is not appended to, x-forwarded-proto set as none came")
          .containsEntry("x-forwarded-for", "10.1.2.3").containsEntry("x-forwarded-proto", "http");
      assertThat(get(proxy, h2, "/", "x-forwarded-for", "fd12::7", RETRY_ON, "5xx", MAX_RETRIES, "1")).isEqualTo(503);
      assertThat(up.requests.get()).as("an internal IPv6 address").isEqualTo(4);
      for (String xff : new String[] {"203.0.113.9", "10.9.9.9, 10.1.2.3", "not-an-address"}) {
        int before = up.requests.get();
        assertThat(get(proxy, h2, "/", "x-forwarded-for", xff, RETRY_ON, "5xx", INTERNAL, "true",
            "x-forwarded-proto", "https")).isEqualTo(503);
        assertThat(up.requests.get() - before).as(xff + ": external, the header removed").isEqualTo(1);
        assertThat(up.lastHeaders).as(xff).doesNotContainKeys(RETRY_ON, INTERNAL,
                EXTERNAL_ADDRESS)
            .containsEntry("x-forwarded-proto", "https");
      }
      int before = up.requests.get();
      assertThat(get(proxy, h2, "/", RETRY_ON, "5xx")).isEqualTo(503);
      assertThat(up.requests.get() - before).as("no x-forwarded-for: external, even from loopback").isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "h2={0} {1}")
  @MethodSource("clients")
  void rbacRemoteIpIsTheTrustedClientAndDirectRemoteIpThePeer(boolean h2, PipelineMode mode) throws Exception {
    String rbac = """
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: ALLOW
                        policies:
                          clients:
                            permissions: [ { any: true } ]
                            principals:
                            - and_ids:
                                ids:
                                - remote_ip: { address_prefix: 203.0.113.0, prefix_len: 24 }
                                - direct_remote_ip: { address_prefix: 127.0.0.1, prefix_len: 32 }
        """;
    try (TestUpstream up = new TestUpstream("a");
        ProxyHarness proxy = new ProxyHarness(withHcm(bootstrap(ProxyHarness.allTo("c"),
            ProxyHarness.cluster("c", "ROUND_ROBIN", up.port()), rbac), "use_remote_address: true",
            "xff_num_trusted_hops: 1"), mode)) {
      assertThat(get(proxy, h2, "/", "x-forwarded-for", "203.0.113.9")).as("a client in the allowed block").isEqualTo(200);
      assertThat(get(proxy, h2, "/", "x-forwarded-for", "203.0.113.9, 198.51.100.1"))
          .as("the trusted hop says the client is 198.51.100.1").isEqualTo(403);
      assertThat(get(proxy, h2, "/")).as("no x-forwarded-for: the peer, 127.0.0.1, is not in the block").isEqualTo(403);
    }
  }
}
