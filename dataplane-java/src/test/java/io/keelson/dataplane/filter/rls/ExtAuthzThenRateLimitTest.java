package io.keelson.dataplane.filter.rls;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.extauthz.GrpcAuthzServer;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * ext_authz then the global rate limit in one chain, as Envoy runs them: the chain stops at ext_authz, so a request
 * the authorization denies never reaches the rate limit service, and an allowed one reaches it with the headers the
 * authorization added (the descriptor is built from {@code x-user}, which only the authorization server sets). Real
 * grpc-java Authorization and RateLimitService servers, a real upstream, both wirings.
 */
class ExtAuthzThenRateLimitTest {
  private static final String VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route:
            cluster: a
            rate_limits:
            - actions: [ { request_headers: { header_name: x-user, descriptor_key: user } } ]
      """.indent(12);

  private static final String FILTERS = """
      - name: envoy.filters.http.ext_authz
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
          grpc_service: { envoy_grpc: { cluster_name: authz }, timeout: 5s }
      - name: envoy.filters.http.ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
          domain: edge
          timeout: 5s
          rate_limit_service:
            transport_api_version: V3
            grpc_service: { envoy_grpc: { cluster_name: rls } }
      """.indent(10);

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void theRateLimitCallFollowsAnAllowedCheckAndSeesItsHeaders(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); GrpcAuthzServer authz = new GrpcAuthzServer();
        RateLimitServer rls = new RateLimitServer(2);
        ProxyHarness proxy = new ProxyHarness(bootstrap(VHOSTS, cluster("a", "ROUND_ROBIN", a.port())
            + cluster("authz", "ROUND_ROBIN", authz.port()) + "    http2_protocol_options: {}\n"
            + cluster("rls", "ROUND_ROBIN", rls.port()) + "    http2_protocol_options: {}\n", FILTERS), mode)) {
      assertThat(proxy.get("/deny").statusCode()).as("denied by the authorization").isEqualTo(401);
      assertThat(rls.requests).as("a denied request never reaches the rate limit service").isEmpty();

      assertThat(proxy.get("/api").statusCode()).isEqualTo(200);
      assertThat(a.lastHeaders).containsEntry("x-user", "bob");
      assertThat(rls.requests).hasSize(1);
      assertThat(rls.requests.getFirst().getDescriptors(0).getEntries(0).getKey()).isEqualTo("user");
      assertThat(rls.requests.getFirst().getDescriptors(0).getEntries(0).getValue())
          .as("the descriptor comes from the header the authorization set").isEqualTo("bob");
      assertThat(proxy.get("/api").statusCode()).isEqualTo(200);
      assertThat(proxy.get("/api").statusCode()).as("bob's third request is over the limit of 2").isEqualTo(429);
      assertThat(authz.checks).hasSize(4);
      assertThat(a.requests.get()).isEqualTo(2);
    }
  }
}
