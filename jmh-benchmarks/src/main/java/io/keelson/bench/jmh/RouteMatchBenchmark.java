package io.keelson.bench.jmh;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.PathMatch;
import io.keelson.dataplane.route.RequestMatcher;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.route.ValueMatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Route selection per request: virtual host by authority, then the first matching route of N, for
 * route sets of one kind (exact paths, prefixes, RE2-style regexes, or one header value per route).
 * The request matches the last route (worst case: every route is tried) or the middle one.
 */
public class RouteMatchBenchmark extends BenchmarkBase {

  @Param({"10", "100", "1000"})
  int routes;

  @Param({"exact", "prefix", "regex", "header"})
  String kind;

  @Param({"end", "middle"})
  String position;

  private RouteTable table;
  private BenchRequest request;

  @Setup
  public void setUp() {
    RouteAction forward = RouteAction.Forward.toCluster("backend", Duration.ofSeconds(15));
    List<RouteEntry> entries = new ArrayList<>();
    for (int i = 0; i < routes; i++) {
      entries.add(new RouteEntry("r" + i, matcher(i), forward, HeaderMutations.NONE, HeaderMutations.NONE));
    }
    // A few other virtual hosts, so the host lookup is not trivially the only one.
    List<VirtualHostConfig> hosts = List.of(
        new VirtualHostConfig("other", List.of("other.example.com", "*.other.net"), List.of(), HeaderMutations.NONE, HeaderMutations.NONE),
        new VirtualHostConfig("api", List.of("api.example.com", "api.example.com:8443"), entries, HeaderMutations.NONE, HeaderMutations.NONE),
        new VirtualHostConfig("fallback", List.of("*"), List.of(), HeaderMutations.NONE, HeaderMutations.NONE));
    table = RouteTable.compile(new RouteConfig("bench", hosts, HeaderMutations.NONE, HeaderMutations.NONE));
    int target = position.equals("end") ? routes - 1 : routes / 2;
    request = switch (kind) {
      case "exact" -> new BenchRequest("GET", "/service/" + target + "/items", null, "api.example.com", null, null);
      case "prefix" -> new BenchRequest("GET", "/service/" + target + "/items/42", "a=1", "api.example.com", null, null);
      case "regex" -> new BenchRequest("GET", "/service/" + target + "/items/42", null, "api.example.com", null, null);
      case "header" -> new BenchRequest("GET", "/items", null, "api.example.com", "x-tenant", "tenant-" + target);
      default -> throw new IllegalArgumentException(kind);
    };
    RouteEntry matched = table.route(request);
    if (matched == null || !matched.name().equals("r" + target)) {
      throw new IllegalStateException("benchmark request matched " + matched + ", expected r" + target);
    }
  }

  private RequestMatcher matcher(int i) {
    return switch (kind) {
      case "exact" -> RequestMatcher.path(PathMatch.exact("/service/" + i + "/items", true));
      case "prefix" -> RequestMatcher.path(PathMatch.prefix("/service/" + i + "/", true));
      case "regex" -> RequestMatcher.path(PathMatch.regex(Pattern.compile("/service/" + i + "/items/[0-9]+")));
      case "header" -> new RequestMatcher(PathMatch.prefix("/", true),
          List.of(HeaderMatch.value("x-tenant", ValueMatch.exact("tenant-" + i, false), false, false)), List.of());
      default -> throw new IllegalArgumentException(kind);
    };
  }

  @Benchmark
  public RouteEntry route() {
    return table.route(request);
  }
}
