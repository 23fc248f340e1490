package io.keelson.dataplane.route;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import org.junit.jupiter.api.Test;

/** Envoy's {@code grpc: {}} route match over real sockets: only application/grpc* requests take the route. */
class GrpcRouteMatchTest {

  @Test
  void onlyGrpcContentTypesTakeAGrpcRoute() throws Exception {
    try (TestUpstream grpc = new TestUpstream("grpc");
        TestUpstream web = new TestUpstream("web");
        ProxyHarness proxy = new ProxyHarness(bootstrap("""
                        - name: mesh
                          domains: ["*"]
                          routes:
                          - match: { prefix: "/echo.Echo/", grpc: {} }
                            route: { cluster: grpc }
                          - match: { prefix: "/" }
                            route: { cluster: web }
            """, cluster("grpc", "ROUND_ROBIN", grpc.port()) + cluster("web", "ROUND_ROBIN", web.port())),
            PipelineMode.INLINE)) {
      assertThat(proxy.get("/echo.Echo/Say", "content-type", "application/grpc").headers().firstValue("x-upstream"))
          .hasValue("grpc");
      assertThat(proxy.get("/echo.Echo/Say", "content-type", "application/grpc+proto").headers().firstValue("x-upstream"))
          .hasValue("grpc");
      assertThat(proxy.get("/echo.Echo/Say", "content-type", "application/json").headers().firstValue("x-upstream"))
          .hasValue("web");
      assertThat(proxy.get("/echo.Echo/Say").headers().firstValue("x-upstream")).hasValue("web");
    }
  }
}
