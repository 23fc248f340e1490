package io.keelson.dataplane.balance;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.util.HashSet;
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
}
