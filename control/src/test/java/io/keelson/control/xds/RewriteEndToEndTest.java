package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import org.junit.jupiter.api.Test;

/**
 * Istio {@code rewrite.uriRegexRewrite} and the Gateway API URLRewrite filter's {@code ReplaceFullPath},
 * through Keelson's control plane (as Envoy's regex_rewrite, the way istiod writes them) into a real
 * proxy over ADS: the workload sees the rewritten path with the query kept.
 */
class RewriteEndToEndTest {
  private static final String REGISTRY = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: users }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Workload
      metadata: { name: users-1 }
      spec: { service: users, address: 127.0.0.1, port: %d }
      """;

  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: users }
      spec:
        hosts: [ users ]
        http:
        - match: [ { uri: { prefix: /v1/ } } ]
          rewrite: { uriRegexRewrite: { match: "^/v1/([^/]+)/([0-9]+)$", rewrite: '/\\1/\\2' } }
          route: [ { destination: { host: users } } ]
        - route: [ { destination: { host: users } } ]
      """;

  private static final String HTTP_ROUTE = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: users }
      spec:
        parentRefs: [ { kind: Service, group: "", name: users } ]
        rules:
        - matches: [ { path: { type: PathPrefix, value: /old } } ]
          filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /all/users } } } ]
          backendRefs: [ { name: users, port: 80 } ]
        - backendRefs: [ { name: users, port: 80 } ]
      """;

  /** Applies the policies, waits until the proxy runs their routes, and sends each path; returns what was sent. */
  private static MeshResources run(String policy, TestUpstream users, String... requestLines) throws Exception {
    try (SidecarOverAds sidecar = new SidecarOverAds("rewrite-sidecar")) {
      MeshResources want = sidecar.apply(REGISTRY.formatted(users.port()) + "---\n" + policy);
      try (RawHttp http = new RawHttp(sidecar.port())) {
        for (String line : requestLines) {
          RawHttp.Response r = http.send("GET " + line + " HTTP/1.1\r\nHost: users\r\n\r\n").read();
          assertThat(r.status()).as(line).isEqualTo(200);
        }
      }
      return want;
    }
  }

  /** The regex_rewrite of the first route of the users virtual host. */
  private static RegexMatchAndSubstitute regexRewrite(MeshResources r) {
    return r.routes().stream().flatMap(rc -> rc.getVirtualHostsList().stream())
        .filter(vh -> vh.getName().startsWith("users")).findFirst().orElseThrow()
        .getRoutes(0).getRoute().getRegexRewrite();
  }

  @Test
  void virtualServiceUriRegexRewriteReachesTheWorkloadAsTheRewrittenPath() throws Exception {
    try (TestUpstream users = new TestUpstream("users")) {
      MeshResources sent = run(VIRTUAL_SERVICE, users, "/v1/users/42?x=1", "/v1/users/abc?x=1", "/other?y=2");
      assertThat(users.requestLines).containsExactly(
          "GET /users/42?x=1 HTTP/1.1", "GET /v1/users/abc?x=1 HTTP/1.1", "GET /other?y=2 HTTP/1.1");
      assertThat(regexRewrite(sent).getPattern().getRegex()).isEqualTo("^/v1/([^/]+)/([0-9]+)$");
      assertThat(regexRewrite(sent).getSubstitution()).isEqualTo("/\\1/\\2");
    }
  }

  @Test
  void httpRouteReplaceFullPathReachesTheWorkloadAsTheNewPathWithTheQuery() throws Exception {
    try (TestUpstream users = new TestUpstream("users")) {
      MeshResources sent = run(HTTP_ROUTE, users, "/old/a/b?x=1", "/old", "/kept");
      assertThat(users.requestLines).containsExactly(
          "GET /all/users?x=1 HTTP/1.1", "GET /all/users HTTP/1.1", "GET /kept HTTP/1.1");
      assertThat(regexRewrite(sent).getPattern().getRegex()).isEqualTo("/.*");
      assertThat(regexRewrite(sent).getSubstitution()).isEqualTo("/all/users");
    }
  }
}
