package io.keelson.bench.jmh;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.balance.XxHash64;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * A hash_policy lookup as the balance stage does it: xxHash64 of a header value, then the ring hash
 * (binary search over the ring) or Maglev (one table read) pick. Keys rotate through 1024 values so
 * the ring and table are not all in L1.
 */
public class HashPolicyBenchmark extends BenchmarkBase {

  @Param({"RING_HASH", "MAGLEV"})
  LbPolicy policy;

  @Param({"3", "100"})
  int endpoints;

  private LoadBalancer balancer;
  private final String[] keys = new String[1024];
  private int next;

  @Setup
  public void setUp() {
    List<EndpointConfig> list = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      list.add(new EndpointConfig("10.0." + (i / 256) + "." + (i % 256), 8080, 1));
    }
    balancer = LoadBalancer.create(ClusterConfig.builder("bench", policy, Duration.ofSeconds(1), list).build(), new SplittableRandom(7));
    for (int i = 0; i < keys.length; i++) {
      keys[i] = "user-" + i * 7919;
    }
  }

  @Benchmark
  public int hashAndPick() {
    String key = keys[next++ & (keys.length - 1)];
    return balancer.pick(XxHash64.hash(key));
  }
}
