package io.keelson.dataplane.filter.rls;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.type.v3.RateLimitUnit;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestJwts;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Global rate limits keyed by what the request carries beyond its headers, as Envoy builds them: a verified JWT's
 * claims through jwt_authn's {@code payload_in_metadata} ({@code metadata} action, {@code default_value},
 * {@code limit.dynamic_metadata} override read from a claim), and query parameters ({@code query_parameters},
 * {@code query_parameter_value_match}). Real gRPC rate limit service (honouring the override, as
 * envoyproxy/ratelimit), real upstream, both wirings.
 */
class RateLimitByClaimTest {
  private static final String VHOSTS = """
                  - name: main
                    domains: ["*"]
                    routes:
                    - match: { prefix: "/user" }
                      route:
                        cluster: a
                        rate_limits:
                        - actions:
                          - metadata:
                              descriptor_key: user
                              metadata_key: { key: envoy.filters.http.jwt_authn, path: [ { key: payload }, { key: sub } ] }
                          - metadata:
                              descriptor_key: plan
                              default_value: free
                              metadata_key: { key: envoy.filters.http.jwt_authn, path: [ { key: payload }, { key: plan } ] }
                          limit:
                            dynamic_metadata:
                              metadata_key: { key: envoy.filters.http.jwt_authn, path: [ { key: payload }, { key: quota } ] }
                    - match: { prefix: "/search" }
                      route:
                        cluster: a
                        rate_limits:
                        - actions:
                          - query_parameters: { query_parameter_name: q, descriptor_key: term }
                        - actions:
                          - query_parameter_value_match:
                              descriptor_value: debug
                              query_parameters: [ { name: debug, string_match: { exact: "on" } } ]
      """;

  private static String filters(TestJwts keys) {
    return """
        - name: envoy.filters.http.jwt_authn
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
            providers:
              idp:
                issuer: https://idp.example
                local_jwks: { inline_string: '%s' }
                payload_in_metadata: payload
            rules: [ { match: { prefix: /user }, requires: { provider_name: idp } } ]
        - name: envoy.filters.http.ratelimit
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
            domain: edge
            timeout: 5s
            rate_limit_service:
              transport_api_version: V3
              grpc_service: { envoy_grpc: { cluster_name: rls } }
        """.formatted(keys.jwks()).indent(10);
  }

  private static RateLimitDescriptor descriptor(String... kv) {
    RateLimitDescriptor.Builder d = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < kv.length; i += 2) {
      d.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(kv[i]).setValue(kv[i + 1]));
    }
    return d.build();
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void aTokensClaimsKeyTheLimitAndItsQuotaOverridesIt(PipelineMode mode) throws Exception {
    TestJwts keys = new TestJwts();
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(100);
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("rls", "ROUND_ROBIN", rls.port()) + "    http2_protocol_options: {}\n", filters(keys)), mode)) {
      String alice = "Bearer " + keys.rs256(TestJwts.claims("https://idp.example", "alice", null, "plan", "gold",
          "quota", Map.of("requests_per_unit", 2, "unit", "minute")));
      String bob = "Bearer " + keys.rs256(TestJwts.claims("https://idp.example", "bob", null));

      // Alice's token carries a quota of 2 a minute: the third request is over, whatever the service's default.
      assertThat(proxy.get("/user", "authorization", alice).statusCode()).isEqualTo(200);
      assertThat(proxy.get("/user", "authorization", alice).statusCode()).isEqualTo(200);
      assertThat(proxy.get("/user", "authorization", alice).statusCode()).isEqualTo(429);
      RateLimitDescriptor sent = rls.requests.getFirst().getDescriptors(0);
      assertThat(sent.getEntriesList()).isEqualTo(descriptor("user", "alice", "plan", "gold").getEntriesList());
      assertThat(sent.getLimit().getRequestsPerUnit()).isEqualTo(2);
      assertThat(sent.getLimit().getUnit()).isEqualTo(RateLimitUnit.MINUTE);

      // Bob has no plan claim (the default_value) and no quota (no override): the service's own limit, not Alice's.
      for (int i = 0; i < 3; i++) {
        assertThat(proxy.get("/user", "authorization", bob).statusCode()).isEqualTo(200);
      }
      RateLimitDescriptor bobs = rls.requests.getLast().getDescriptors(0);
      assertThat(bobs).isEqualTo(descriptor("user", "bob", "plan", "free"));
      assertThat(a.requests.get()).isEqualTo(5);
    }
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void queryParametersMakeDescriptorsAsEnvoyDoes(PipelineMode mode) throws Exception {
    TestJwts keys = new TestJwts();
    try (TestUpstream a = new TestUpstream("a"); RateLimitServer rls = new RateLimitServer(1);
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("rls", "ROUND_ROBIN", rls.port()) + "    http2_protocol_options: {}\n", filters(keys)), mode)) {
      assertThat(proxy.get("/search?q=red+shoes&debug=on").statusCode()).isEqualTo(200);
      assertThat(rls.requests.getLast().getDescriptorsList())
          .containsExactly(descriptor("term", "red shoes"), descriptor("query_match", "debug"));
      // The same term again is over the service's limit of 1; another term is not.
      assertThat(proxy.get("/search?q=red%20shoes").statusCode()).isEqualTo(429);
      assertThat(proxy.get("/search?debug=off&q=blue").statusCode()).isEqualTo(200);
      assertThat(rls.requests.getLast().getDescriptorsList()).containsExactly(descriptor("term", "blue"));
      // No q: its policy gives no descriptor; debug=on alone still makes one (already hit once: over).
      assertThat(proxy.get("/search?debug=on").statusCode()).isEqualTo(429);
      assertThat(rls.requests.getLast().getDescriptorsList()).containsExactly(descriptor("query_match", "debug"));
      assertThat(a.requests.get()).isEqualTo(2);
    }
  }
}
