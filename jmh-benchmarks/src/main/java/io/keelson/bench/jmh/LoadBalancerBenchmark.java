package io.keelson.bench.jmh;

import io.keelson.dataplane.balance.LoadBalancer;
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
 * One endpoint choice per operation, with the request start/end bookkeeping least request needs
 * (done for every policy, so the numbers compare). Equal weights take each policy's fast path;
 * unequal weights (1..4) the weighted one (smooth WRR, EDF least request, cumulative-weight random).
 */
public class LoadBalancerBenchmark extends BenchmarkBase {

  @Param({"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"})
  LbPolicy policy;

  @Param({"3", "100"})
  int endpoints;

  @Param({"false", "true"})
  boolean weighted;

  private LoadBalancer balancer;

  @Setup
  public void setUp() {
    List<EndpointConfig> list = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      list.add(new EndpointConfig("10.0." + (i / 256) + "." + (i % 256), 8080, weighted ? 1 + i % 4 : 1));
    }
    balancer = LoadBalancer.create(ClusterConfig.builder("bench", policy, Duration.ofSeconds(1), list).build(), new SplittableRandom(7));
    // Some requests in flight, so least request compares real counts.
    for (int i = 0; i < endpoints; i += 3) {
      balancer.onRequestStart(i);
    }
  }

  @Benchmark
  public int pickStartEnd() {
    int chosen = balancer.pick();
    balancer.onRequestStart(chosen);
    balancer.onRequestEnd(chosen);
    return chosen;
  }
}
