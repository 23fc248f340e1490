package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.SidecarMtlsTest.secureSidecar;
import static io.keelson.control.sidecar.SidecarMtlsTest.served;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * End to end: Linkerd's HTTPLocalRateLimitPolicy applied to the control plane and enforced by the destination's
 * sidecar behind mesh mTLS (a real control plane, two sidecars over ADS, a real app): over the limit a caller gets 429
 * from the destination's sidecar, the bucket refills every second, and deleting the policy lifts the limit.
 */
class SidecarRateLimitTest {
  private static final int LIMIT = 3;

  /** The statuses of {@code n} requests sent one after another on new connections through {@code outbound}. */
  private static List<RawHttp.Response> burst(int outbound, int n) {
    List<RawHttp.Response> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      try (RawHttp http = new RawHttp(outbound)) {
        out.add(http.send("GET /items HTTP/1.1\r\nHost: product-service\r\n\r\n").read());
      } catch (IOException e) {
        out.add(new RawHttp.Response(-1, java.util.Map.of(), e.toString()));
      }
    }
    return out;
  }

  private static long count(List<RawHttp.Response> rs, int status) {
    return rs.stream().filter(r -> r.status() == status).count();
  }

  @Test
  void theDestinationSidecarLimitsRequestsPerSecondAndTheLimitGoesWithThePolicy() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0);
        Sidecar product = secureSidecar(cp, "product-service", "product", app.port());
        Sidecar web = secureSidecar(cp, "web", "web", 1)) {
      cp.store.apply(PolicyParser.parse("services.yaml", SidecarMtlsTest.SERVICES).policies(), false);
      int outbound = web.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(15)).until(() -> served(outbound, "product-service").equals("product-v1"));
      assertThat(count(burst(outbound, 12), 200)).as("no limit before the policy").isEqualTo(12);

      cp.store.apply(PolicyParser.parse("rl.yaml", """
          apiVersion: policy.linkerd.io/v1alpha1
          kind: HTTPLocalRateLimitPolicy
          metadata: { name: product-rl }
          spec:
            targetRef: { kind: Service, name: product-service }
            total: { requestsPerSecond: %d }
          """.formatted(LIMIT)).policies(), false);
      await().atMost(Duration.ofSeconds(15)).until(() -> count(burst(outbound, 12), 429) > 0);

      Thread.sleep(1_100); // a full bucket
      long start = System.nanoTime();
      List<RawHttp.Response> rs = burst(outbound, 12);
      double seconds = (System.nanoTime() - start) / 1e9;
      // LIMIT tokens at the start, plus LIMIT per whole second the burst took
      long admitted = LIMIT + LIMIT * (long) Math.floor(seconds);
      assertThat(count(rs, 200)).as("admitted in %.2f s: %s", seconds, rs).isBetween((long) LIMIT, admitted);
      assertThat(count(rs, 429)).as("%s", rs).isEqualTo(12 - count(rs, 200));
      RawHttp.Response limited = rs.stream().filter(r -> r.status() == 429).findFirst().orElseThrow();
      assertThat(limited.body()).isEqualTo("local_rate_limited");
      assertThat(limited.header("x-served-by")).as("answered by the sidecar, not the app").isNull();

      cp.store.delete("HTTPLocalRateLimitPolicy", "", "product-rl", false);
      Thread.sleep(1_100);
      await().atMost(Duration.ofSeconds(15)).until(() -> count(burst(outbound, 12), 200) == 12);
    }
  }
}
