package io.keelson.control.xds;

import com.google.protobuf.ByteString;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.keelson.control.policy.JwtClaimKey;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** One policy rule to Envoy routes (one per match: a rule's matches are alternatives). Stateless. */
final class RouteBuilder {
  /** The metadata namespace Istio's authn filter writes the verified JWT's claims to (request.auth.claims). */
  static final String ISTIO_AUTHN = "istio_authn";
  private RouteBuilder() {}

  /** The route of a host no route document names: all of it to the host's cluster, hashed as its DestinationRule says. */
  static Route defaultRoute(String service, String cluster, PolicySet state) {
    return defaultRoute(service, cluster, state, 0);
  }

  /** The same for service port {@code port} (0: none), whose portLevelSettings may hash differently. */
  static Route defaultRoute(String service, String cluster, PolicySet state, int port) {
    return Route.newBuilder().setName(service + "-default")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(RouteAction.newBuilder().setCluster(cluster)
            .addAllHashPolicy(ConsistentHashing.hashPolicies(state,
                List.of(new Policy.Backend(service, null, port, 100)), new ClusterNames(Map.of(), 0))))
        .build();
  }

  static void addRoutes(VirtualHost.Builder vh, Policy.Routes doc, Policy.Rule rule, PolicySet state) {
    addRoutes(vh, doc, rule, state, new ClusterNames(Map.of(), 0));
  }

  /** {@code names}: the clusters of the rule's backends (ServiceEntry hosts have one per port); for sidecars. */
  static void addRoutes(VirtualHost.Builder vh, Policy.Routes doc, Policy.Rule rule, PolicySet state, ClusterNames names) {
    addRoutes(vh, doc, rule, state, names, Policy.Routes.MESH, null);
  }

  /**
   * As {@link #addRoutes(VirtualHost.Builder, Policy.Routes, Policy.Rule, PolicySet, ClusterNames)}, on
   * {@code gateway} ({@code namespace/name}, or {@value Policy.Routes#MESH} for sidecars): as istiod, a match whose
   * {@code gateways} leave it out, or that still depends on the caller's workload (a state not resolved for one by
   * {@link SourceMatches}), or that names another {@code port} than the routes' (null: routes not of one port), is
   * left out, and a rule whose every match was left out adds no route (it must not become a catch-all). Route names
   * keep the match's index in the rule.
   */
  static void addRoutes(VirtualHost.Builder vh, Policy.Routes doc, Policy.Rule rule, PolicySet state, ClusterNames names,
      String gateway, Integer port) {
    List<Policy.Match> matches = rule.matches().isEmpty()
        ? List.of(new Policy.Match(null, List.of(), List.of(), null)) : rule.matches();
    for (int i = 0; i < matches.size(); i++) {
      Policy.MatchScope scope = matches.get(i).scope();
      if (!scope.admitsGateway(gateway) || scope.bySource() || !scope.admitsPort(port)) {
        continue;
      }
      Route.Builder r = Route.newBuilder()
          .setName(doc.kind() + "/" + doc.name() + "/" + rule.name() + (matches.size() > 1 ? "/" + i : ""))
          .setMatch(match(matches.get(i)));
      if (rule.redirect() != null) {
        r.setRedirect(redirect(rule.redirect()));
      } else if (rule.directResponse() != null) {
        r.setDirectResponse(directResponse(rule.directResponse()));
      } else {
        r.setRoute(action(rule, state, names));
        Policy.PersistentSession session = gateway.equals(Policy.Routes.MESH) ? null : PersistentSessions.ofRule(rule, state);
        if (session != null) { // sidecars: on the service's virtual host (MeshTranslator)
          r.putTypedPerFilterConfig(PersistentSessions.FILTER, PersistentSessions.perRoute(session));
        }
      }
      headers(rule.requestHeaders(), true, r);
      headers(rule.responseHeaders(), false, r);
      if (rule.fault() != null) {
        r.putTypedPerFilterConfig(FaultBuilder.FILTER, FaultBuilder.perRoute(rule.fault()));
      }
      if (rule.cors() != null) {
        r.putTypedPerFilterConfig(CorsBuilder.FILTER, CorsBuilder.perRoute(rule.cors()));
      }
      vh.addRoutes(r);
    }
  }

  static RouteMatch match(Policy.Match m) {
    RouteMatch.Builder b = RouteMatch.newBuilder();
    Policy.StringMatch p = m.path();
    if (p == null) {
      b.setPrefix("/");
    } else {
      switch (p.type()) {
        case EXACT -> b.setPath(p.value());
        case PREFIX -> b.setPrefix(p.value());
        case REGEX -> b.setSafeRegex(RegexMatcher.newBuilder().setRegex(p.value()));
      }
    }
    if (m.ignoreUriCase()) {
      b.setCaseSensitive(com.google.protobuf.BoolValue.of(false));
    }
    for (Policy.KeyMatch h : m.headers()) {
      if (JwtClaimKey.isClaim(h.name())) {
        b.addDynamicMetadata(claim(h, false));
        continue;
      }
      b.addHeaders(HeaderMatcher.newBuilder().setName(h.name()).setStringMatch(string(h.match())));
    }
    for (Policy.KeyMatch h : m.withoutHeaders()) { // istiod: the same matcher, inverted; {} is "not present"
      if (JwtClaimKey.isClaim(h.name())) {
        b.addDynamicMetadata(claim(h, true));
        continue;
      }
      HeaderMatcher.Builder hm = HeaderMatcher.newBuilder().setName(h.name()).setInvertMatch(true);
      if (h.match() == null) {
        hm.setPresentMatch(true);
      } else {
        hm.setStringMatch(string(h.match()));
      }
      b.addHeaders(hm);
    }
    if (m.method() != null) {
      b.addHeaders(HeaderMatcher.newBuilder().setName(":method")
          .setStringMatch(StringMatcher.newBuilder().setExact(m.method())));
    }
    if (m.grpc()) {
      b.setGrpc(RouteMatch.GrpcRouteMatchOptions.getDefaultInstance());
    }
    for (Policy.KeyMatch q : m.queryParams()) {
      b.addQueryParameters(QueryParameterMatcher.newBuilder().setName(q.name()).setStringMatch(string(q.match())));
    }
    return b.build();
  }

  /**
   * istiod's JWT claim match: the verified token's claim in {@code istio_authn} metadata ({@code request.auth.claims},
   * then the claim's path), which holds every claim as a list of strings, so the value matches one element; {@code {}}
   * in withoutHeaders: the claim is absent. jwt_authn on a gateway clears the route cache, so routes are chosen again
   * once the token verified.
   */
  static MetadataMatcher claim(Policy.KeyMatch h, boolean invert) {
    MetadataMatcher.Builder mm = MetadataMatcher.newBuilder().setFilter(ISTIO_AUTHN).setInvert(invert)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("request.auth.claims"));
    for (String part : JwtClaimKey.path(h.name())) {
      mm.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(part));
    }
    if (h.match() == null) {
      return mm.setValue(ValueMatcher.newBuilder().setPresentMatch(true)).build();
    }
    return mm.setValue(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
        .setOneOf(ValueMatcher.newBuilder().setStringMatch(string(h.match()))))).build();
  }

  private static StringMatcher string(Policy.StringMatch m) {
    return switch (m.type()) {
      case EXACT -> StringMatcher.newBuilder().setExact(m.value()).build();
      case PREFIX -> StringMatcher.newBuilder().setPrefix(m.value()).build();
      case REGEX -> StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(m.value())).build();
    };
  }

  private static RouteAction action(Policy.Rule rule, PolicySet state, ClusterNames names) {
    RouteAction.Builder a = RouteAction.newBuilder();
    List<WeightedCluster.ClusterWeight> weights = new ArrayList<>();
    for (Policy.Backend b : rule.backends()) {
      weights.add(WeightedCluster.ClusterWeight.newBuilder()
          .setName(names.of(b))
          .setWeight(UInt32Value.of(b.weight())).build());
    }
    if (weights.size() == 1) {
      a.setCluster(weights.getFirst().getName());
    } else {
      a.setWeightedClusters(WeightedCluster.newBuilder().addAllClusters(weights));
    }
    if (rule.rewrite() != null) {
      if (rule.rewrite().prefix() != null) {
        a.setPrefixRewrite(rule.rewrite().prefix());
      }
      if (rule.rewrite().regex() != null && rule.rewrite().substitution() != null) {
        a.setRegexRewrite(io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute.newBuilder()
            .setPattern(RegexMatcher.newBuilder().setRegex(rule.rewrite().regex()))
            .setSubstitution(rule.rewrite().substitution()));
      }
      if (rule.rewrite().host() != null) {
        a.setHostRewriteLiteral(rule.rewrite().host());
      }
    }
    for (Policy.Mirror m : rule.mirrors()) {
      RouteAction.RequestMirrorPolicy.Builder mp = RouteAction.RequestMirrorPolicy.newBuilder()
          .setCluster(names.of(m.backend()));
      if (m.perMillion() < 1_000_000) {
        mp.setRuntimeFraction(io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent.newBuilder()
            .setDefaultValue(io.envoyproxy.envoy.type.v3.FractionalPercent.newBuilder().setNumerator(m.perMillion())
                .setDenominator(io.envoyproxy.envoy.type.v3.FractionalPercent.DenominatorType.MILLION)));
      }
      a.addRequestMirrorPolicies(mp);
    }
    if (rule.timeout() != null) {
      a.setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(rule.timeout().getSeconds())
          .setNanos(rule.timeout().getNano()));
    }
    a.addAllHashPolicy(ConsistentHashing.hashPolicies(state, rule.backends(), names));
    if (rule.retry() != null) {
      // As istiod: a hashed route's retries may go back to the same host (no previous_hosts predicate).
      a.setRetryPolicy(ResilienceBuilder.retryPolicy(rule.retry(), a.getHashPolicyCount() > 0));
    }
    return a.build();
  }

  private static RedirectAction redirect(Policy.Redirect r) {
    RedirectAction.Builder b = RedirectAction.newBuilder();
    if (r.scheme() != null) {
      b.setSchemeRedirect(r.scheme());
    }
    if (r.host() != null) {
      b.setHostRedirect(r.host());
    }
    if (r.port() != null) {
      b.setPortRedirect(r.port());
    }
    if (r.path() != null) {
      b.setPathRedirect(r.path());
    }
    if (r.prefix() != null) {
      b.setPrefixRewrite(r.prefix());
    }
    b.setResponseCode(switch (r.code()) {
      case 302 -> RedirectAction.RedirectResponseCode.FOUND;
      case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
      case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
      case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
      default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
    });
    return b.build();
  }

  /** As istiod: status, and body.inline_string or inline_bytes (the YAML's base64, decoded). */
  static DirectResponseAction directResponse(Policy.DirectResponse d) {
    DirectResponseAction.Builder b = DirectResponseAction.newBuilder().setStatus(d.status());
    if (d.string() != null) {
      b.setBody(DataSource.newBuilder().setInlineString(d.string()));
    } else if (d.bytes() != null) {
      b.setBody(DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(
          Base64.getDecoder().decode(d.bytes().replace('-', '+').replace('_', '/')))));
    }
    return b.build();
  }

  private static void headers(Policy.HeaderOps ops, boolean request, Route.Builder r) {
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      HeaderValueOption o = option(e, HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD);
      if (request) {
        r.addRequestHeadersToAdd(o);
      } else {
        r.addResponseHeadersToAdd(o);
      }
    }
    for (Map.Entry<String, String> e : ops.add().entrySet()) {
      HeaderValueOption o = option(e, HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
      if (request) {
        r.addRequestHeadersToAdd(o);
      } else {
        r.addResponseHeadersToAdd(o);
      }
    }
    if (request) {
      r.addAllRequestHeadersToRemove(ops.remove());
    } else {
      r.addAllResponseHeadersToRemove(ops.remove());
    }
  }

  private static HeaderValueOption option(Map.Entry<String, String> e, HeaderValueOption.HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(e.getKey()).setValue(e.getValue()))
        .setAppendAction(action).build();
  }
}
