package io.keelson.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RouteTableTest {
  private static final RouteAction TO_A = forward("a");

  private static RouteAction forward(String cluster) {
    return RouteAction.Forward.toCluster(cluster, Duration.ofSeconds(15));
  }

  private static RouteEntry route(String name, RouteMatch match) {
    return new RouteEntry(name, match, TO_A, HeaderMutations.NONE, HeaderMutations.NONE);
  }

  private static VirtualHostConfig vh(String name, List<String> domains, RouteEntry... routes) {
    return new VirtualHostConfig(name, domains, Arrays.asList(routes), HeaderMutations.NONE, HeaderMutations.NONE);
  }

  private static VirtualHostConfig vh(String name, String... domains) {
    return vh(name, List.of(domains), route("any", RequestMatcher.path(PathMatch.prefix("/", true))));
  }

  private static RouteTable table(VirtualHostConfig... hosts) {
    return RouteTable.compile(new RouteConfig("rc", List.of(hosts), HeaderMutations.NONE, HeaderMutations.NONE));
  }

  private static String hostFor(RouteTable t, String authority) {
    VirtualHostConfig vh = t.virtualHost(authority);
    return vh == null ? null : vh.name();
  }

  @Test
  void domainsPreferExactThenLongestSuffixThenLongestPrefixThenAny() {
    RouteTable t = table(
        vh("any", "*"),
        vh("prefix-short", "api.*"),
        vh("prefix-long", "api.example.*"),
        vh("suffix-short", "*.com"),
        vh("suffix-long", "*.example.com"),
        vh("exact", "api.example.com"));
    assertThat(hostFor(t, "api.example.com")).isEqualTo("exact");
    assertThat(hostFor(t, "www.example.com")).isEqualTo("suffix-long");
    assertThat(hostFor(t, "www.other.com")).isEqualTo("suffix-short");
    // A suffix wildcard beats a longer prefix wildcard, as in Envoy.
    assertThat(hostFor(t, "api.example.org")).isEqualTo("prefix-long");
    assertThat(hostFor(t, "api.other.org")).isEqualTo("prefix-short");
    assertThat(hostFor(t, "nothing.org")).isEqualTo("any");
    assertThat(hostFor(t, null)).isEqualTo("any");
  }

  @Test
  void wildcardsNeverMatchAnEmptyPart() {
    RouteTable t = table(vh("suffix", "*.example.com"), vh("prefix", "api.*"));
    assertThat(hostFor(t, ".example.com")).isNull();
    assertThat(hostFor(t, "api.")).isNull();
    assertThat(hostFor(t, "x.example.com")).isEqualTo("suffix");
  }

  @Test
  void hostsCompareCaseInsensitively() {
    RouteTable t = table(vh("exact", "Api.Example.com"), vh("suffix", "*.Example.ORG"), vh("prefix", "WWW.*"));
    assertThat(hostFor(t, "API.EXAMPLE.COM")).isEqualTo("exact");
    assertThat(hostFor(t, "a.example.org")).isEqualTo("suffix");
    assertThat(hostFor(t, "www.Anything")).isEqualTo("prefix");
  }

  @Test
  void authorityWithPortTriesThePortFirstThenWithout() {
    RouteTable t = table(vh("with-port", "example.com:8080"), vh("without", "example.com"), vh("v6", "[::1]"));
    assertThat(hostFor(t, "example.com:8080")).isEqualTo("with-port");
    assertThat(hostFor(t, "example.com:9090")).isEqualTo("without");
    assertThat(hostFor(t, "example.com")).isEqualTo("without");
    assertThat(hostFor(t, "[::1]:80")).isEqualTo("v6");
    assertThat(hostFor(t, "other:80")).isNull();
  }

  @Test
  void rejectsADomainInTwoVirtualHosts() {
    assertThatThrownBy(() -> table(vh("a", "x.com"), vh("b", "X.com")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'X.com'");
  }

  @Test
  void firstMatchingRouteWinsInOrder() {
    VirtualHostConfig host = vh("h", List.of("*"),
        route("exact", RequestMatcher.path(PathMatch.exact("/a/b", true))),
        route("prefix", RequestMatcher.path(PathMatch.prefix("/a", true))),
        route("catch", RequestMatcher.path(PathMatch.prefix("/", true))));
    RouteTable t = table(host);
    assertThat(t.route(TestRequest.get("/a/b")).name()).isEqualTo("exact");
    assertThat(t.route(TestRequest.get("/a/b/c")).name()).isEqualTo("prefix");
    assertThat(t.route(TestRequest.get("/ab")).name()).isEqualTo("prefix");
    assertThat(t.route(TestRequest.get("/z")).name()).isEqualTo("catch");
  }

  @Test
  void exactPathIndexKeepsConfigOrder() {
    RouteEntry headerFirst = route("prefix-with-header", new RequestMatcher(PathMatch.prefix("/a", true),
        List.of(HeaderMatch.presence("x-first", true, false)), List.of()));
    VirtualHostConfig host = vh("h", List.of("*"),
        headerFirst,
        route("exact", RequestMatcher.path(PathMatch.exact("/a/b", true))),
        route("exact-again", RequestMatcher.path(PathMatch.exact("/a/b", true))),
        route("exact-any-case", RequestMatcher.path(PathMatch.exact("/A/C", false))),
        route("prefix", RequestMatcher.path(PathMatch.prefix("/a", true))),
        route("exact-after-prefix", RequestMatcher.path(PathMatch.exact("/a/d", true))),
        route("exact-only", RequestMatcher.path(PathMatch.exact("/z", true))));
    RouteTable t = table(host);
    assertThat(t.route(TestRequest.get("/a/b").header("x-first", "1")).name()).isEqualTo("prefix-with-header");
    assertThat(t.route(TestRequest.get("/a/b")).name()).isEqualTo("exact");
    assertThat(t.route(TestRequest.get("/a/c")).name()).isEqualTo("exact-any-case");
    // An earlier prefix route shadows a later exact route, as in Envoy.
    assertThat(t.route(TestRequest.get("/a/d")).name()).isEqualTo("prefix");
    assertThat(t.route(TestRequest.get("/z")).name()).isEqualTo("exact-only");
    assertThat(t.route(TestRequest.get("/y"))).isNull();
  }

  @Test
  void prefixIndexPicksTheEarliestMatchingPrefixNotTheLongest() {
    VirtualHostConfig host = vh("h", List.of("*"),
        route("api-v1", RequestMatcher.path(PathMatch.prefix("/api/v1/", true))),
        route("api", RequestMatcher.path(PathMatch.prefix("/api", true))),
        route("api-v2-users", RequestMatcher.path(PathMatch.prefix("/api/v2/users", true))),
        route("regex", RequestMatcher.path(PathMatch.regex(Pattern.compile("/static/.*")))),
        route("static", RequestMatcher.path(PathMatch.prefix("/static", true))),
        route("any-case", RequestMatcher.path(PathMatch.prefix("/CASE", false))),
        route("root", RequestMatcher.path(PathMatch.prefix("/", true))),
        route("empty", RequestMatcher.path(PathMatch.prefix("", true))));
    RouteTable t = table(host);
    assertThat(t.route(TestRequest.get("/api/v1/x")).name()).isEqualTo("api-v1");
    assertThat(t.route(TestRequest.get("/api/v2/users/1")).name()).isEqualTo("api");
    assertThat(t.route(TestRequest.get("/apix")).name()).isEqualTo("api");
    assertThat(t.route(TestRequest.get("/static/a.css")).name()).isEqualTo("regex");
    assertThat(t.route(TestRequest.get("/staticx")).name()).isEqualTo("static");
    assertThat(t.route(TestRequest.get("/case/x")).name()).isEqualTo("any-case");
    assertThat(t.route(TestRequest.get("/other")).name()).isEqualTo("root");
    assertThat(t.route(TestRequest.get("")).name()).isEqualTo("empty");
  }

  @Test
  void indexedLookupAgreesWithAPlainScanOnRandomTables() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(11);
    String[] segments = {"/a", "/b", "/ab", "/a/b", "/A", "/"};
    for (int round = 0; round < 200; round++) {
      List<RouteEntry> routes = new java.util.ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String p = segments[random.nextInt(segments.length)] + (random.nextBoolean() ? "" : segments[random.nextInt(segments.length)]);
        RouteMatch match = switch (random.nextInt(4)) {
          case 0 -> RequestMatcher.path(PathMatch.exact(p, random.nextBoolean()));
          case 1 -> RequestMatcher.path(PathMatch.prefix(p, random.nextBoolean()));
          case 2 -> RequestMatcher.path(PathMatch.regex(Pattern.compile(Pattern.quote(p) + ".*")));
          default -> new RequestMatcher(PathMatch.prefix(p, true), List.of(HeaderMatch.presence("x", true, false)), List.of());
        };
        routes.add(route("r" + i, match));
      }
      VirtualHostConfig host = vh("h", List.of("*"), routes.toArray(new RouteEntry[0]));
      RouteTable t = table(host);
      for (int q = 0; q < 20; q++) {
        TestRequest req = TestRequest.get(segments[random.nextInt(segments.length)] + segments[random.nextInt(segments.length)]);
        if (random.nextBoolean()) {
          req.header("x", "1");
        }
        RouteEntry expected = routes.stream().filter(r -> r.match().matches(req)).findFirst().orElse(null);
        assertThat(t.route(req)).as("%s on %s", req.path(), routes).isSameAs(expected);
      }
    }
  }

  @Test
  void noMatchingRouteIsNull() {
    RouteTable t = table(vh("h", List.of("*"), route("only", RequestMatcher.path(PathMatch.exact("/only", true)))));
    assertThat(t.route(TestRequest.get("/other"))).isNull();
  }

  @Test
  void pathMatchersHonourCaseSensitivity() {
    assertThat(PathMatch.exact("/Foo", true).matches("/foo")).isFalse();
    assertThat(PathMatch.exact("/Foo", false).matches("/foo")).isTrue();
    assertThat(PathMatch.prefix("/API", false).matches("/api/x")).isTrue();
    assertThat(PathMatch.prefix("/API", true).matches("/api/x")).isFalse();
  }

  @Test
  void separatedPrefixMatchesOnlyWholeSegments() {
    PathMatch m = PathMatch.separatedPrefix("/docs", true);
    assertThat(m.matches("/docs")).isTrue();
    assertThat(m.matches("/docs/intro")).isTrue();
    assertThat(m.matches("/docsx")).isFalse();
    assertThat(m.matchedPrefixLength("/docs/intro")).isEqualTo(5);
  }

  @Test
  void regexMustMatchTheWholePath() {
    PathMatch m = PathMatch.regex(Pattern.compile("/items/[0-9]+"));
    assertThat(m.matches("/items/42")).isTrue();
    assertThat(m.matches("/items/42/x")).isFalse();
    assertThat(m.matches("/x/items/42")).isFalse();
    assertThat(m.matchedPrefixLength("/items/42")).isEqualTo(9);
    assertThat(m.matchedPrefixLength("/items/x")).isEqualTo(-1);
  }

  @Test
  void matchedPrefixLengthIsWhatPrefixRewriteReplaces() {
    assertThat(PathMatch.prefix("/api/", true).matchedPrefixLength("/api/users")).isEqualTo(5);
    assertThat(PathMatch.exact("/a", true).matchedPrefixLength("/a")).isEqualTo(2);
    assertThat(PathMatch.prefix("/api/", true).matchedPrefixLength("/other")).isEqualTo(-1);
  }

  @Test
  void headerValueMatchers() {
    TestRequest req = TestRequest.get("/").header("x-version", "v2-beta").header("accept", "text/html").header("accept", "json");
    assertThat(HeaderMatch.value("x-version", ValueMatch.exact("v2-beta", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("X-Version", ValueMatch.exact("V2-BETA", true), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("x-version", ValueMatch.prefix("v2", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("x-version", ValueMatch.suffix("beta", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("x-version", ValueMatch.contains("2-b", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("x-version", ValueMatch.contains("2-B", false), false, false).matches(req)).isFalse();
    assertThat(HeaderMatch.value("x-version", ValueMatch.regex(Pattern.compile("v[0-9]-.*")), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value("x-version", ValueMatch.regex(Pattern.compile("v[0-9]")), false, false).matches(req)).isFalse();
    // Repeated headers are matched as one comma-joined value, as in Envoy.
    assertThat(HeaderMatch.value("accept", ValueMatch.exact("text/html,json", false), false, false).matches(req)).isTrue();
  }

  @Test
  void invertedValueMatcherStillFailsOnAnAbsentHeader() {
    TestRequest without = TestRequest.get("/");
    TestRequest with = TestRequest.get("/").header("x-env", "prod");
    HeaderMatch notStaging = HeaderMatch.value("x-env", ValueMatch.exact("staging", false), true, false);
    assertThat(notStaging.matches(with)).isTrue();
    assertThat(notStaging.matches(TestRequest.get("/").header("x-env", "staging"))).isFalse();
    assertThat(notStaging.matches(without)).isFalse();
    HeaderMatch missingAsEmpty = HeaderMatch.value("x-env", ValueMatch.exact("staging", false), true, true);
    assertThat(missingAsEmpty.matches(without)).isTrue();
  }

  @Test
  void presenceMatchers() {
    TestRequest with = TestRequest.get("/").header("x-debug", "");
    TestRequest without = TestRequest.get("/");
    assertThat(HeaderMatch.presence("x-debug", true, false).matches(with)).isTrue();
    assertThat(HeaderMatch.presence("x-debug", true, false).matches(without)).isFalse();
    assertThat(HeaderMatch.presence("x-debug", false, false).matches(without)).isTrue();
    assertThat(HeaderMatch.presence("x-debug", true, true).matches(without)).isTrue();
    assertThat(HeaderMatch.presence("x-debug", true, true).matches(with)).isFalse();
  }

  @Test
  void pseudoHeadersReadMethodAuthorityAndPath() {
    TestRequest req = TestRequest.request("POST", "/upload?x=1", "files.example.com:8443");
    assertThat(HeaderMatch.value(":method", ValueMatch.exact("POST", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value(":method", ValueMatch.exact("GET", false), false, false).matches(req)).isFalse();
    assertThat(HeaderMatch.value(":authority", ValueMatch.prefix("files.", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value(":path", ValueMatch.exact("/upload?x=1", false), false, false).matches(req)).isTrue();
    assertThat(HeaderMatch.value(":scheme", ValueMatch.exact("https", false), false, false).matches(req)).isFalse();
    assertThat(HeaderMatch.value(":scheme", ValueMatch.exact("https", false), false, false)
        .matches(req.scheme("https"))).isTrue();
    assertThat(HeaderMatch.isSupportedName(":scheme")).isTrue();
    assertThat(HeaderMatch.isSupportedName(":protocol")).isFalse();
    assertThat(HeaderMatch.isSupportedName(":METHOD")).isTrue();
  }

  @Test
  void routeByMethodThroughTheTable() {
    VirtualHostConfig host = vh("h", List.of("*"),
        route("post", new RequestMatcher(PathMatch.prefix("/", true),
            List.of(HeaderMatch.value(":method", ValueMatch.exact("POST", false), false, false)), List.of())),
        route("rest", RequestMatcher.path(PathMatch.prefix("/", true))));
    RouteTable t = table(host);
    assertThat(t.route(TestRequest.request("POST", "/x", "h")).name()).isEqualTo("post");
    assertThat(t.route(TestRequest.request("GET", "/x", "h")).name()).isEqualTo("rest");
  }

  @Test
  void queryParameterMatchers() {
    QueryMatch debug = QueryMatch.present("debug");
    QueryMatch version = QueryMatch.value("v", ValueMatch.exact("2", false));
    QueryMatch name = QueryMatch.value("name", ValueMatch.exact("a b/c", false));
    assertThat(debug.matches(TestRequest.get("/?debug"))).isTrue();
    assertThat(debug.matches(TestRequest.get("/?a=1&debug=&b=2"))).isTrue();
    assertThat(debug.matches(TestRequest.get("/?debugx=1"))).isFalse();
    assertThat(debug.matches(TestRequest.get("/?xdebug=1"))).isFalse();
    assertThat(debug.matches(TestRequest.get("/"))).isFalse();
    assertThat(version.matches(TestRequest.get("/?v=2"))).isTrue();
    assertThat(version.matches(TestRequest.get("/?a=b&v=2"))).isTrue();
    assertThat(version.matches(TestRequest.get("/?v=22"))).isFalse();
    // The first occurrence decides, as in Envoy.
    assertThat(version.matches(TestRequest.get("/?v=1&v=2"))).isFalse();
    // Values are percent-decoded before matching.
    assertThat(name.matches(TestRequest.get("/?name=a+b%2Fc"))).isTrue();
    assertThat(name.matches(TestRequest.get("/?name=a%20b%2fc"))).isTrue();
  }

  @Test
  void allMatchersOfARouteMustMatch() {
    RequestMatcher m = new RequestMatcher(PathMatch.prefix("/api", true),
        List.of(HeaderMatch.value("x-version", ValueMatch.exact("v2", false), false, false)),
        List.of(QueryMatch.present("beta")));
    assertThat(m.matches(TestRequest.get("/api/x?beta").header("x-version", "v2"))).isTrue();
    assertThat(m.matches(TestRequest.get("/api/x").header("x-version", "v2"))).isFalse();
    assertThat(m.matches(TestRequest.get("/api/x?beta"))).isFalse();
    assertThat(m.matches(TestRequest.get("/web?beta").header("x-version", "v2"))).isFalse();
  }

  @Test
  void weightedPickFollowsTheWeights() {
    List<RouteAction.WeightedCluster> clusters = List.of(
        new RouteAction.WeightedCluster("a", 90, HeaderMutations.NONE, HeaderMutations.NONE),
        new RouteAction.WeightedCluster("zero", 0, HeaderMutations.NONE, HeaderMutations.NONE),
        new RouteAction.WeightedCluster("b", 10, HeaderMutations.NONE, HeaderMutations.NONE));
    int[] counts = new int[3];
    for (int draw = 0; draw < 100; draw++) {
      counts[WeightedPick.index(clusters, draw)]++;
    }
    assertThat(counts).containsExactly(90, 0, 10);
    assertThat(WeightedPick.index(clusters, 89)).isZero();
    assertThat(WeightedPick.index(clusters, 90)).isEqualTo(2);
  }
}
