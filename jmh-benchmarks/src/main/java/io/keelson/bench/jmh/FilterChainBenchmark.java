package io.keelson.bench.jmh;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.filter.FilterChain;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilterFactories;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.filter.fault.FaultConfig;
import io.keelson.dataplane.filter.ratelimit.LocalRateLimitConfig;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * The policy stage's cost per request: the HTTP filter chain run over one request head, with filters
 * that do not trigger (fault at 0% — sampled each request — and a local rate limit whose bucket never
 * empties — one CAS per request). Baseline: an empty chain.
 */
public class FilterChainBenchmark extends BenchmarkBase {

  @Param({"none", "fault", "ratelimit", "fault+ratelimit"})
  String chain;

  private FilterChain filters;
  private final FilterContext context = new FilterContext();
  private final BenchRequest request = new BenchRequest("GET", "/api/items", null, "example.com", "x-user", "alice");

  @Setup
  public void setUp() {
    List<HttpFilterConfig> configs = new ArrayList<>();
    if (chain.contains("fault")) {
      configs.add(new HttpFilterConfig("envoy.filters.http.fault", HttpFilterFactories.typeName(HttpFilterFactories.ALL.get(0)),
          new FaultConfig(Duration.ofMillis(5), false, Percent.NONE, 503, -1, false, Percent.NONE, -1)));
    }
    if (chain.contains("ratelimit")) {
      configs.add(new HttpFilterConfig("envoy.filters.http.local_ratelimit", HttpFilterFactories.typeName(HttpFilterFactories.ALL.get(1)),
          new LocalRateLimitConfig("bench", 429, 4_000_000_000L, 4_000_000_000L, Duration.ofMillis(50), Percent.ALL, Percent.ALL, "", false)));
    }
    var hcm = HttpConnectionManagerConfig.builder("bench", new RouteConfig("r", List.of(), HeaderMutations.NONE, HeaderMutations.NONE))
        .generateRequestId(false).httpFilters(configs).build();
    filters = FilterChain.compile(hcm, FilterResources.of(new StatsRegistry(), "bench"));
  }

  @Benchmark
  public boolean run() {
    FilterContext c = context;
    c.clear();
    c.head = request;
    filters.run(c);
    return c.hasLocalReply();
  }
}
