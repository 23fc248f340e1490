package io.keelson.dataplane.filter.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.rbac.HttpRbacConfig;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.route.TestRequest;
import org.junit.jupiter.api.Test;

class RbacFilterTest {
  /** Counts how often the shadow policy's header is read: once per evaluation of the shadow rules. */
  private static final class CountingHead implements RequestHead {
    private final TestRequest request;
    int probeReads;

    CountingHead(TestRequest request) {
      this.request = request;
    }

    @Override
    public String method() {
      return request.method();
    }

    @Override
    public String path() {
      return request.path();
    }

    @Override
    public String query() {
      return request.query();
    }

    @Override
    public String authority() {
      return request.authority();
    }

    @Override
    public String header(String lowerCaseName) {
      if (lowerCaseName.equals("x-probe")) {
        probeReads++;
      }
      return request.header(lowerCaseName);
    }
  }

  @Test
  void evaluatesShadowRulesOncePerRequestAndCountsThemWithoutEnforcing() throws Exception {
    RBAC.Builder b = RBAC.newBuilder();
    JsonFormat.parser().merge("""
        {"shadow_rules": {"action": "ALLOW", "policies": {"probes": {
            "permissions": [{"header": {"name": "x-probe", "string_match": {"exact": "yes"}}}],
            "principals": [{"any": true}]}}}}
        """, b);
    HttpRbacConfig config = HttpRbacConfig.from(b.build());
    RbacFilter filter = new RbacFilter(config);

    CountingHead head = new CountingHead(TestRequest.get("/").header("x-probe", "no"));
    FilterContext context = new FilterContext();
    context.head = head;
    filter.onRequest(context);

    assertThat(head.probeReads).isEqualTo(1);
    assertThat(context.hasLocalReply()).as("shadow denial not enforced").isFalse();
    assertThat(config.shadowDenied.sum()).isEqualTo(1);
    assertThat(config.shadowAllowed.sum()).isZero();
    assertThat(config.allowed.sum()).isEqualTo(1);
  }
}
