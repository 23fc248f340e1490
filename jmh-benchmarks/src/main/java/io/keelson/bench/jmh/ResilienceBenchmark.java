package io.keelson.bench.jmh;

import io.keelson.dataplane.balance.EndpointHealth;
import io.keelson.dataplane.balance.HealthAwareBalancer;
import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.OutlierDetectionConfig;
import io.keelson.dataplane.config.RetryPolicy;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.resilience.OutlierDetector;
import io.keelson.dataplane.resilience.RetryState;
import io.keelson.dataplane.stats.ClusterStats;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

/**
 * The per-request cost of the resilience bookkeeping on the success path, next to its baseline: a
 * balancer pick with request start/end alone ({@code baselinePick}), then the same with what a request
 * under a retry policy, circuit breakers and outlier detection adds ({@code resilientRequest}): the
 * health-aware pick, the max_requests breaker taken and given back, the retry state begun, asked about
 * a 200 and ended, and the outcome reported to the outlier detector. Nothing is ever retried or
 * ejected: this is what a healthy cluster pays. {@code breakerOnly}, {@code retryStateOnly} and
 * {@code outlierReportOnly} split the cost ({@code outlierReportCounting}: a cluster large enough for
 * success-rate accounting).
 */
public class ResilienceBenchmark extends BenchmarkBase {
  private LoadBalancer plain;
  private LoadBalancer healthAware;
  private CircuitBreakers.Resources breaker;
  private CircuitBreakerConfig.Thresholds thresholds;
  private RetryState retry;
  private RetryPolicy policy;
  private OutlierDetector detector;
  private OutlierDetector countingDetector;
  private ClusterStats stats;
  /** The request's start time, which the proxy reads anyway and hands to the detector as its clock hint. */
  private long startNanos;

  @Setup
  public void setUp() {
    List<EndpointConfig> eps = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      eps.add(new EndpointConfig("10.0.0." + i, 8080, 1));
    }
    ClusterConfig cluster = ClusterConfig.builder("bench", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), eps).build();
    plain = LoadBalancer.create(cluster, new SplittableRandom(7));
    EndpointHealth[] health = {new EndpointHealth(), new EndpointHealth(), new EndpointHealth()};
    healthAware = new HealthAwareBalancer(LoadBalancer.create(cluster, new SplittableRandom(7)), health);
    stats = new StatsRegistry().cluster("bench");
    detector = new OutlierDetector(OutlierDetectionConfig.DEFAULTS, health, stats, System::nanoTime);
    EndpointHealth[] six = new EndpointHealth[6];
    for (int i = 0; i < six.length; i++) {
      six[i] = new EndpointHealth();
    }
    countingDetector = new OutlierDetector(OutlierDetectionConfig.DEFAULTS, six, stats, System::nanoTime);
    breaker = new CircuitBreakers().of(false);
    thresholds = CircuitBreakerConfig.Thresholds.DEFAULTS;
    retry = new RetryState(new SplittableRandom(3));
    startNanos = System.nanoTime();
    policy = new RetryPolicy(RetryPolicy.RETRY_ON_5XX | RetryPolicy.RETRY_ON_RESET | RetryPolicy.RETRY_ON_CONNECT_FAILURE,
        2, Duration.ZERO, Duration.ofMillis(25), Duration.ofMillis(250), new int[0], true, 1, 64 * 1024);
  }

  @Benchmark
  public int baselinePick() {
    int chosen = plain.pick();
    plain.onRequestStart(chosen);
    plain.onRequestEnd(chosen);
    return chosen;
  }

  @Benchmark
  public int resilientRequest() {
    if (!breaker.tryAcquireRequest(thresholds)) {
      return -1;
    }
    retry.begin(policy, breaker, thresholds, stats);
    int chosen = healthAware.pick();
    healthAware.onRequestStart(chosen);
    retry.onHostTried(chosen);
    boolean retriable = retry.retriableStatus(200, null);
    retry.onFinalResponse(retriable);
    detector.onResponse(chosen, 200, startNanos);
    healthAware.onRequestEnd(chosen);
    retry.end();
    breaker.releaseRequest();
    return chosen;
  }

  @Benchmark
  public boolean breakerOnly() {
    boolean ok = breaker.tryAcquireRequest(thresholds);
    breaker.releaseRequest();
    return ok;
  }

  @Benchmark
  public boolean retryStateOnly() {
    retry.begin(policy, breaker, thresholds, stats);
    retry.onHostTried(1);
    boolean retriable = retry.retriableStatus(200, null);
    retry.onFinalResponse(retriable);
    retry.end();
    return retriable;
  }

  @Benchmark
  public int outlierReportOnly() {
    detector.onResponse(1, 200, startNanos);
    return 1;
  }

  /**
   * As {@code outlierReportOnly} on a cluster of 6 endpoints: at least success_rate_minimum_hosts (5),
   * so the detector counts requests per endpoint for the success-rate and failure-percentage checks.
   */
  @Benchmark
  public int outlierReportCounting() {
    countingDetector.onResponse(1, 200, startNanos);
    return 1;
  }
}
