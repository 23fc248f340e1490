package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RequestMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Translates an inline Envoy RouteConfiguration into a {@link RouteConfig}, recording every cluster
 * a route names so the caller can check the references. Used by one thread.
 */
final class RouteTranslator {
  /** Envoy's default route timeout. */
  static final java.time.Duration DEFAULT_TIMEOUT = java.time.Duration.ofSeconds(15);

  /** A cluster named by a route, with where it was named. */
  record ClusterReference(String cluster, String path, String routeName) {}

  private final Problems problems;
  private final MatchTranslator matches;
  private final RateLimitTranslator rateLimits;
  private final List<ClusterReference> references = new ArrayList<>();
  private final ResilienceTranslator resilience;
  /** The retry_policy of the virtual host being translated, or null. */
  private io.keelson.dataplane.config.RetryPolicy virtualHostRetry;
  private int virtualHostBufferLimit;
  private int routeBufferLimit;

  RouteTranslator(Problems problems) {
    this.problems = problems;
    this.matches = new MatchTranslator(problems);
    this.rateLimits = new RateLimitTranslator(problems, matches);
    this.resilience = new ResilienceTranslator(problems);
  }

  List<ClusterReference> references() {
    return references;
  }

  RouteConfig translate(RouteConfiguration rc, String path) {
    List<VirtualHostConfig> hosts = new ArrayList<>();
    Map<String, String> domainOwners = new HashMap<>();
    for (int i = 0; i < rc.getVirtualHostsCount(); i++) {
      hosts.add(virtualHost(rc.getVirtualHosts(i), path + ".virtual_hosts[" + i + "]", domainOwners));
    }
    return new RouteConfig(
        rc.getName(),
        hosts,
        HeaderMutationTranslator.translate(
            rc.getRequestHeadersToAddList(), rc.getRequestHeadersToRemoveList(), path, "request", problems),
        HeaderMutationTranslator.translate(
            rc.getResponseHeadersToAddList(), rc.getResponseHeadersToRemoveList(), path, "response", problems));
  }

  private VirtualHostConfig virtualHost(VirtualHost vh, String path, Map<String, String> domainOwners) {
    if (vh.getName().isEmpty()) {
      problems.error(path + ".name", "a virtual host name is required");
    }
    if (vh.getDomainsCount() == 0) {
      problems.error(path + ".domains", "at least one domain is required (use \"*\" to match every host)");
    }
    for (int i = 0; i < vh.getDomainsCount(); i++) {
      String domain = vh.getDomains(i);
      String at = path + ".domains[" + i + "]";
      if (domain.isEmpty() || domain.indexOf('*') != domain.lastIndexOf('*')
          || (domain.length() > 1 && domain.indexOf('*') > 0 && domain.indexOf('*') < domain.length() - 1)) {
        problems.error(at, "domain '" + domain + "' is not valid; expected an exact host, *.suffix, prefix.* or *");
        continue;
      }
      String previous = domainOwners.putIfAbsent(domain.toLowerCase(Locale.ROOT), vh.getName());
      if (previous != null) {
        problems.error(at, "domain '" + domain + "' is already used by virtual host '" + previous
            + "'; each domain may appear in one virtual host only");
      }
    }
    virtualHostBufferLimit = vh.hasPerRequestBufferLimitBytes() ? vh.getPerRequestBufferLimitBytes().getValue() : 0;
    virtualHostRetry = vh.hasRetryPolicy()
        ? resilience.retryPolicy(vh.getRetryPolicy(), path + ".retry_policy", virtualHostBufferLimit)
        : null;
    List<RouteEntry> routes = new ArrayList<>();
    for (int i = 0; i < vh.getRoutesCount(); i++) {
      RouteEntry entry = route(vh.getRoutes(i), path + ".routes[" + i + "]");
      if (entry != null) {
        routes.add(entry);
      }
    }
    return new VirtualHostConfig(
        vh.getName(),
        vh.getDomainsList(),
        routes,
        HeaderMutationTranslator.translate(
            vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList(), path, "request", problems),
        HeaderMutationTranslator.translate(
            vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList(), path, "response", problems),
        vhPerFilter(vh, path),
        vh.getIncludeRequestAttemptCount(),
        vh.getIncludeAttemptCountInResponse(),
        rateLimits.translate(vh.getRateLimitsList(), path + ".rate_limits"));
  }

  /** typed_per_filter_config, and the deprecated cors (read by the CORS filter when there is no typed config). */
  private Map<String, Object> vhPerFilter(VirtualHost vh, String path) {
    Map<String, Object> perFilter =
        HttpFilterTranslator.perFilter(vh.getTypedPerFilterConfigMap(), path + ".typed_per_filter_config", problems);
    return vh.hasCors() ? HttpFilterTranslator.withRouteField(perFilter, vh.getCors(), path + ".cors", problems) : perFilter;
  }

  private RouteEntry route(Route route, String path) {
    RequestMatcher match = matches.translate(route.getMatch(), path + ".match", route.hasMatch());
    String name = route.getName().isEmpty() ? path : route.getName();
    routeBufferLimit = route.hasPerRequestBufferLimitBytes() ? route.getPerRequestBufferLimitBytes().getValue() : virtualHostBufferLimit;
    RouteAction action =
        switch (route.getActionCase()) {
          case ROUTE -> forward(route.getRoute(), path + ".route", name);
          case REDIRECT -> redirect(route.getRedirect(), path + ".redirect");
          case DIRECT_RESPONSE -> direct(route.getDirectResponse(), path + ".direct_response");
          case ACTION_NOT_SET -> {
            problems.error(path, "the route has no action; expected one of route, redirect, direct_response");
            yield null;
          }
          default -> null; // an unsupported action kind: reported by SupportedFields
        };
    HeaderMutations request = HeaderMutationTranslator.translate(
        route.getRequestHeadersToAddList(), route.getRequestHeadersToRemoveList(), path, "request", problems);
    HeaderMutations response = HeaderMutationTranslator.translate(
        route.getResponseHeadersToAddList(), route.getResponseHeadersToRemoveList(), path, "response", problems);
    if (match == null || action == null) {
      return null;
    }
    Map<String, Object> perFilter =
        HttpFilterTranslator.perFilter(route.getTypedPerFilterConfigMap(), path + ".typed_per_filter_config", problems);
    if (route.hasRoute() && route.getRoute().hasCors()) {
      perFilter = HttpFilterTranslator.withRouteField(perFilter, route.getRoute().getCors(), path + ".route.cors", problems);
    }
    io.keelson.dataplane.config.RouteRateLimits limits = route.hasRoute()
        ? new io.keelson.dataplane.config.RouteRateLimits(
            rateLimits.translate(route.getRoute().getRateLimitsList(), path + ".route.rate_limits"),
            route.getRoute().hasIncludeVhRateLimits() && route.getRoute().getIncludeVhRateLimits().getValue())
        : io.keelson.dataplane.config.RouteRateLimits.NONE;
    return new RouteEntry(route.getName(), match, action, request, response, perFilter, limits);
  }

  private RouteAction.Forward forward(
      io.envoyproxy.envoy.config.route.v3.RouteAction a, String path, String routeName) {
    List<RouteAction.WeightedCluster> clusters = new ArrayList<>();
    long total;
    switch (a.getClusterSpecifierCase()) {
      case CLUSTER -> {
        references.add(new ClusterReference(a.getCluster(), path + ".cluster", routeName));
        clusters.add(new RouteAction.WeightedCluster(a.getCluster(), 1, HeaderMutations.NONE, HeaderMutations.NONE));
        total = 1;
      }
      case WEIGHTED_CLUSTERS -> {
        WeightedCluster wc = a.getWeightedClusters();
        String wpath = path + ".weighted_clusters";
        total = 0;
        if (wc.getClustersCount() == 0) {
          problems.error(wpath + ".clusters", "at least one cluster is required");
          return null;
        }
        for (int i = 0; i < wc.getClustersCount(); i++) {
          WeightedCluster.ClusterWeight cw = wc.getClusters(i);
          String cpath = wpath + ".clusters[" + i + "]";
          if (cw.getName().isEmpty()) {
            problems.error(cpath + ".name", "a cluster name is required");
            continue;
          }
          long weight = cw.hasWeight() ? Integer.toUnsignedLong(cw.getWeight().getValue()) : 0;
          total += weight;
          references.add(new ClusterReference(cw.getName(), cpath + ".name", routeName));
          clusters.add(new RouteAction.WeightedCluster(
              cw.getName(),
              (int) Math.min(weight, Integer.MAX_VALUE),
              HeaderMutationTranslator.translate(
                  cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList(), cpath, "request", problems),
              HeaderMutationTranslator.translate(
                  cw.getResponseHeadersToAddList(), cw.getResponseHeadersToRemoveList(), cpath, "response", problems)));
        }
        if (total == 0) {
          problems.error(wpath, "the total weight of route '" + routeName + "' is 0; expected at least one cluster with a weight above 0");
          return null;
        }
        if (total > Integer.MAX_VALUE) {
          problems.error(wpath, "the total weight " + total + " is too large; expected at most " + Integer.MAX_VALUE);
          return null;
        }
        if (wc.hasTotalWeight() && wc.getTotalWeight().getValue() != total) {
          problems.error(wpath + ".total_weight", "is " + Integer.toUnsignedString(wc.getTotalWeight().getValue())
              + " but the cluster weights add up to " + total + "; expected them to be equal (or total_weight left out)");
          return null;
        }
      }
      case CLUSTERSPECIFIER_NOT_SET -> {
        problems.error(path, "a cluster is required; expected cluster or weighted_clusters");
        return null;
      }
      default -> {
        return null; // cluster_header and friends: reported by SupportedFields
      }
    }
    java.time.Duration timeout = a.hasTimeout() ? duration(a.getTimeout()) : DEFAULT_TIMEOUT;
    io.keelson.dataplane.config.RetryPolicy retry = a.hasRetryPolicy()
        ? resilience.retryPolicy(a.getRetryPolicy(), path + ".retry_policy", routeBufferLimit)
        : virtualHostRetry;
    return new RouteAction.Forward(
        clusters,
        (int) total,
        a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite(),
        a.hasRegexRewrite() ? regexRewrite(a, path) : null,
        a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral(),
        timeout,
        retry,
        a.getPriority() == io.envoyproxy.envoy.config.core.v3.RoutingPriority.HIGH,
        hashPolicies(a, path + ".hash_policy"),
        mirrors(a, path, routeName),
        upgrades(a, path));
  }

  /**
   * regex_rewrite: the pattern (RE2, checked like a route's safe_regex) compiled once, the substitution
   * parsed once. Envoy rejects it together with prefix_rewrite.
   */
  private io.keelson.dataplane.config.RegexRewrite regexRewrite(io.envoyproxy.envoy.config.route.v3.RouteAction a, String path) {
    String at = path + ".regex_rewrite";
    if (!a.getPrefixRewrite().isEmpty()) {
      problems.error(at, "is set together with prefix_rewrite; expected only one of prefix_rewrite and regex_rewrite "
          + "(as Envoy)");
      return null;
    }
    var rr = a.getRegexRewrite();
    if (!rr.hasPattern() || rr.getPattern().getRegex().isEmpty()) {
      problems.error(at + ".pattern.regex", "a pattern is required");
      return null;
    }
    java.util.regex.Pattern p = Re2Regex.compile(rr.getPattern().getRegex(), at + ".pattern.regex", problems);
    if (p == null) {
      return null;
    }
    try {
      return io.keelson.dataplane.config.RegexRewrite.of(p, rr.getSubstitution());
    } catch (IllegalArgumentException e) {
      problems.error(at + ".substitution", "'" + rr.getSubstitution() + "' " + e.getMessage());
      return null;
    }
  }

  private List<io.keelson.dataplane.config.HashPolicy> hashPolicies(io.envoyproxy.envoy.config.route.v3.RouteAction a, String path) {
    List<io.keelson.dataplane.config.HashPolicy> out = new ArrayList<>();
    for (int i = 0; i < a.getHashPolicyCount(); i++) {
      var h = a.getHashPolicy(i);
      String at = path + "[" + i + "]";
      io.keelson.dataplane.config.HashPolicy.Source source;
      String name;
      java.time.Duration cookieTtl = null;
      String cookiePath = null;
      switch (h.getPolicySpecifierCase()) {
        case HEADER -> {
          source = io.keelson.dataplane.config.HashPolicy.Source.HEADER;
          name = h.getHeader().getHeaderName().toLowerCase(Locale.ROOT);
        }
        case COOKIE -> {
          source = io.keelson.dataplane.config.HashPolicy.Source.COOKIE;
          name = h.getCookie().getName();
          if (h.getCookie().hasTtl()) {
            cookieTtl = duration(h.getCookie().getTtl());
            cookiePath = h.getCookie().getPath().isEmpty() ? null : h.getCookie().getPath();
          }
        }
        case CONNECTION_PROPERTIES -> {
          if (!h.getConnectionProperties().getSourceIp()) {
            continue; // hashes nothing, as in Envoy
          }
          source = io.keelson.dataplane.config.HashPolicy.Source.SOURCE_IP;
          name = null;
        }
        case QUERY_PARAMETER -> {
          source = io.keelson.dataplane.config.HashPolicy.Source.QUERY_PARAMETER;
          name = h.getQueryParameter().getName();
        }
        default -> {
          problems.error(at, "a hash policy needs header, cookie, connection_properties or query_parameter");
          continue;
        }
      }
      if (name != null && name.isEmpty()) {
        problems.error(at, "the " + source.name().toLowerCase(Locale.ROOT) + " hash policy needs a name");
        continue;
      }
      out.add(new io.keelson.dataplane.config.HashPolicy(source, name, h.getTerminal(), cookieTtl, cookiePath));
    }
    return out;
  }

  /** request_mirror_policies: the shadow cluster must exist; runtime_fraction's default_value samples. */
  private List<io.keelson.dataplane.config.MirrorPolicy> mirrors(
      io.envoyproxy.envoy.config.route.v3.RouteAction a, String path, String routeName) {
    List<io.keelson.dataplane.config.MirrorPolicy> out = new ArrayList<>();
    for (int i = 0; i < a.getRequestMirrorPoliciesCount(); i++) {
      var m = a.getRequestMirrorPolicies(i);
      String mpath = path + ".request_mirror_policies[" + i + "]";
      if (m.getCluster().isEmpty()) {
        problems.error(mpath + ".cluster", "a shadow cluster name is required");
        continue;
      }
      references.add(new ClusterReference(m.getCluster(), mpath + ".cluster", routeName));
      int perMillion = io.keelson.dataplane.config.MirrorPolicy.ALL;
      if (m.hasRuntimeFraction()) {
        var f = m.getRuntimeFraction().getDefaultValue();
        long scale = switch (f.getDenominator()) {
          case HUNDRED -> 10_000;
          case TEN_THOUSAND -> 100;
          case MILLION -> 1;
          default -> -1;
        };
        if (scale < 0) {
          problems.error(mpath + ".runtime_fraction.default_value.denominator", f.getDenominator()
              + " is not supported; expected HUNDRED, TEN_THOUSAND or MILLION");
          continue;
        }
        perMillion = (int) Math.min(io.keelson.dataplane.config.MirrorPolicy.ALL,
            Integer.toUnsignedLong(f.getNumerator()) * scale);
      }
      out.add(new io.keelson.dataplane.config.MirrorPolicy(m.getCluster(), perMillion));
    }
    return out;
  }

  /**
   * The upgrade type of CONNECT, lower case: in a route's upgrades, true means "terminate" (connect_config), false
   * "disabled", and no entry "proxy the CONNECT request to the cluster" (Envoy's default for a connect_matcher route).
   */
  static final String CONNECT = "connect";

  /**
   * Route-level upgrade_configs: type (lower case) to enabled (default true). For CONNECT, connect_config means
   * terminate (true); an enabled CONNECT without it leaves no entry (the CONNECT request is proxied, as Envoy);
   * connect_config on another upgrade type is an error, as Envoy's validation has it.
   */
  private java.util.Map<String, Boolean> upgrades(io.envoyproxy.envoy.config.route.v3.RouteAction a, String path) {
    java.util.Map<String, Boolean> out = new java.util.HashMap<>();
    for (int i = 0; i < a.getUpgradeConfigsCount(); i++) {
      var u = a.getUpgradeConfigs(i);
      String type = u.getUpgradeType().toLowerCase(Locale.ROOT);
      String at = path + ".upgrade_configs[" + i + "]";
      boolean enabled = !u.hasEnabled() || u.getEnabled().getValue();
      if (!type.equals(CONNECT) && u.hasConnectConfig()) {
        problems.error(at + ".connect_config", "is only allowed with upgrade_type CONNECT, not '" + u.getUpgradeType() + "'");
      }
      if (type.equals(CONNECT) && enabled && !u.hasConnectConfig()) {
        continue; // proxied: the CONNECT request goes to the cluster
      }
      out.put(type, enabled);
    }
    return out;
  }

  private RouteAction.Redirect redirect(RedirectAction r, String path) {
    String scheme =
        switch (r.getSchemeRewriteSpecifierCase()) {
          case HTTPS_REDIRECT -> r.getHttpsRedirect() ? "https" : null;
          case SCHEME_REDIRECT -> r.getSchemeRedirect().toLowerCase(Locale.ROOT);
          default -> null;
        };
    if (r.getPortRedirect() > 65535) {
      problems.error(path + ".port_redirect", r.getPortRedirect() + " is out of range; expected 1-65535");
    }
    String redirectPath = r.getPathRewriteSpecifierCase() == RedirectAction.PathRewriteSpecifierCase.PATH_REDIRECT
        ? r.getPathRedirect() : null;
    String prefixRewrite = r.getPathRewriteSpecifierCase() == RedirectAction.PathRewriteSpecifierCase.PREFIX_REWRITE
        ? r.getPrefixRewrite() : null;
    int status =
        switch (r.getResponseCode()) {
          case MOVED_PERMANENTLY -> 301;
          case FOUND -> 302;
          case SEE_OTHER -> 303;
          case TEMPORARY_REDIRECT -> 307;
          case PERMANENT_REDIRECT -> 308;
          default -> {
            problems.error(path + ".response_code", r.getResponseCodeValue()
                + " is not a redirect response code; expected one of MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT");
            yield 301;
          }
        };
    return new RouteAction.Redirect(
        scheme,
        r.getHostRedirect().isEmpty() ? null : r.getHostRedirect(),
        r.getPortRedirect(),
        redirectPath,
        prefixRewrite,
        status,
        r.getStripQuery());
  }

  private RouteAction.DirectResponse direct(DirectResponseAction d, String path) {
    if (d.getStatus() < 200 || d.getStatus() > 599) {
      problems.error(path + ".status", d.getStatus() + " is out of range; expected 200-599");
      return null;
    }
    byte[] body =
        switch (d.getBody().getSpecifierCase()) {
          case INLINE_STRING -> d.getBody().getInlineString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          case INLINE_BYTES -> d.getBody().getInlineBytes().toByteArray(); // as is: binary bodies stay exact
          case FILENAME -> {
            problems.error(path + ".body.filename", "a direct_response body from a file is not supported; expected inline_string or inline_bytes");
            yield new byte[0];
          }
          default -> new byte[0];
        };
    return new RouteAction.DirectResponse(d.getStatus(), body);
  }

  static java.time.Duration duration(Duration d) {
    return java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }
}
