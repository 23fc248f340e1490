package io.keelson.control.api;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.control.xds.MeshResources;
import io.keelson.control.xds.MeshTranslator;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Answers "where would this request go?" by evaluating the outbound resources the proxies were sent (or, for an
 * ingress gateway, the route configuration of one of its ports; a TLS or TCP port is {@link GatewayStreamExplainer}'s),
 * route by route, the way the data plane does (first
 * match wins). Stateless.
 */
final class Explainer {
  private Explainer() {}

  static Map<String, Object> explain(MeshResources r, String from, String host, String pathAndQuery,
      Map<String, String> headers, String method) {
    return explain(r, null, from, host, pathAndQuery, headers, method);
  }

  /** @param sidecar the Istio Sidecar scoping {@code from}'s sidecars ({@code r} is their narrowed view), or null */
  static Map<String, Object> explain(MeshResources r, String sidecar, String from, String host, String pathAndQuery,
      Map<String, String> headers, String method) {
    RouteConfiguration rc = r.routes().stream().filter(c -> c.getName().equals(MeshTranslator.OUTBOUND)).findFirst()
        .orElse(RouteConfiguration.getDefaultInstance());
    String uses = sidecar == null ? "'" + from + "' uses the mesh's outbound routes (every sidecar gets the same ones)"
        : "'" + from + "' is scoped by " + sidecar + ": it uses only the outbound routes of the hosts its egress admits";
    return explain(r, rc, from, uses, "http", host, pathAndQuery, headers, method);
  }

  /**
   * At gateway {@code node} ({@code r}: what it was sent), a request to its port {@code port}: the port's route
   * configuration ({@code http.PORT}, or of an HTTPS port the server's {@code https.PORT.PORTNAME.GATEWAY.NAMESPACE}
   * that serves {@code host}, as a client naming the host in its SNI would get), as the gateway translation names them;
   * at a TLS (passthrough or terminating) or TCP port, the filter chain {@code host} as SNI picks and its cluster(s).
   *
   * @throws IllegalArgumentException naming the gateway's route configurations and listeners when it serves nothing
   *         on {@code port}
   */
  static Map<String, Object> explainGateway(MeshResources r, String node, int port, String host, String pathAndQuery,
      Map<String, String> headers, String method) {
    // An HTTPS port has a route configuration per server (https.PORT.PORTNAME.GATEWAY.NAMESPACE), chosen by the
    // client's SNI: explained as a client naming the Host in its SNI would be served (the server serving that host).
    List<RouteConfiguration> candidates = r.routes().stream()
        .filter(c -> c.getName().equals("http." + port) || c.getName().startsWith("https." + port + ".")).toList();
    // A TLS or TCP port, or a tcp_proxy chain the SNI picks on a port shared with HTTPS servers: the connection's path.
    var listener = GatewayStreamExplainer.listener(r, port);
    if (listener != null && (candidates.isEmpty() || GatewayStreamExplainer.streamChain(listener, host) != null)) {
      return GatewayStreamExplainer.explain(r, node, port, listener, host);
    }
    RouteConfiguration rc = candidates.stream().filter(c -> virtualHost(c, host) != null).findFirst()
        .or(() -> candidates.stream().findFirst())
        .orElseThrow(() -> new IllegalArgumentException("gateway '" + node + "' serves no HTTP/HTTPS on port " + port
            + "; its HTTP route configurations are " + r.routes().stream().map(RouteConfiguration::getName).toList()
            + " and its listeners " + r.listeners().stream().map(l -> l.getName()).toList()));
    return explain(r, rc, node, "gateway '" + node + "' port " + port + " uses its route configuration '"
        + rc.getName() + "' (its Gateways' servers and the VirtualServices/HTTPRoutes bound to them)"
        + http3(r, port, rc.getName()),
        rc.getName().startsWith("https.") ? "https" : "http", host, pathAndQuery, headers, method);
  }

  /** How HTTP/3 reaches {@code routeName} on {@code port}: its QUIC listener's name, or "" when none serves it. */
  private static String http3(MeshResources r, int port, String routeName) {
    return r.listeners().stream()
        .filter(l -> l.hasUdpListenerConfig() && l.getAddress().getSocketAddress().getPortValue() == port)
        .filter(l -> l.getFilterChainsList().stream().anyMatch(c -> rds(c).equals(routeName)))
        .map(l -> "; over HTTP/3 too: its QUIC listener '" + l.getName() + "' (UDP port " + port + ") serves the same"
            + " routes")
        .findFirst().orElse("");
  }

  private static String rds(io.envoyproxy.envoy.config.listener.v3.FilterChain c) {
    try {
      return c.getFiltersCount() == 0 ? "" : c.getFilters(0).getTypedConfig().unpack(
          io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.class)
          .getRds().getRouteConfigName();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "";
    }
  }

  /** @param scheme the request's {@code :scheme} unless its headers say one: https on a gateway's TLS port */
  private static Map<String, Object> explain(MeshResources r, RouteConfiguration rc, String from, String uses,
      String scheme, String host, String pathAndQuery, Map<String, String> headers, String method) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("from", from);
    out.put("host", host);
    out.put("path", pathAndQuery);
    List<String> why = new ArrayList<>();
    out.put("why", why);
    VirtualHost vh = virtualHost(rc, host);
    if (vh == null) {
      why.add("no service answers to Host '" + host + "': known domains are "
          + rc.getVirtualHostsList().stream().flatMap(v -> v.getDomainsList().stream()).toList());
      why.add(uses); // e.g. a Sidecar resource leaving the host out of this proxy's scope
      out.put("result", "404 (no virtual host)");
      return out;
    }
    why.add(uses);
    why.add("Host '" + host + "' selects virtual host '" + vh.getName() + "' (domains " + vh.getDomainsList() + ")");
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    Map<String, String> query = query(q < 0 ? "" : pathAndQuery.substring(q + 1));
    Map<String, String> h = new LinkedHashMap<>();
    headers.forEach((k, v) -> h.put(k.toLowerCase(), v));
    h.put(":method", method);
    h.putIfAbsent(":scheme", scheme); // a sidecar's outbound requests are cleartext HTTP; -H ':scheme: https' to differ
    for (Route route : vh.getRoutesList()) {
      String miss = mismatch(route, path, h, query);
      if (miss != null) {
        why.add("route '" + route.getName() + "' does not match: " + miss);
        continue;
      }
      why.add("route '" + route.getName() + "' matches (" + describe(route) + ")");
      out.put("route", route.getName());
      if (route.hasRedirect()) {
        out.put("result", "redirect " + route.getRedirect().toString().replace('\n', ' ').trim());
        return out;
      }
      var action = route.getRoute();
      if (!action.getPrefixRewrite().isEmpty()) {
        why.add("the matched path prefix is rewritten to '" + action.getPrefixRewrite() + "'");
      }
      if (!action.getHostRewriteLiteral().isEmpty()) {
        why.add("the Host is rewritten to '" + action.getHostRewriteLiteral() + "'");
      }
      if (action.hasTimeout()) {
        why.add("request timeout " + action.getTimeout().getSeconds() + "." + String.format("%03d",
            action.getTimeout().getNanos() / 1_000_000) + " s");
      }
      route.getRequestHeadersToAddList().forEach(o -> why.add("request header " + o.getHeader().getKey() + ": "
          + o.getHeader().getValue() + " (" + o.getAppendAction() + ")"));
      List<Map<String, Object>> clusters = new ArrayList<>();
      if (route.getRoute().hasWeightedClusters()) {
        long total = route.getRoute().getWeightedClusters().getClustersList().stream()
            .mapToLong(c -> c.getWeight().getValue()).sum();
        for (WeightedCluster.ClusterWeight cw : route.getRoute().getWeightedClusters().getClustersList()) {
          clusters.add(cluster(r, cw.getName(), cw.getWeight().getValue(), total));
        }
        why.add("weighted split: the proxy picks a cluster per request in proportion to the weights");
      } else {
        clusters.add(cluster(r, route.getRoute().getCluster(), 1, 1));
      }
      out.put("clusters", clusters);
      out.put("result", "forwarded");
      return out;
    }
    out.put("result", "404 (no route of '" + vh.getName() + "' matches)");
    return out;
  }

  /**
   * The virtual host for {@code host} as the data plane picks it: an exact domain, else the longest {@code *.suffix}
   * (or {@code prefix*}) wildcard, else {@code *}; null when none.
   */
  private static VirtualHost virtualHost(RouteConfiguration rc, String host) {
    VirtualHost best = null;
    int bestScore = -1;
    for (VirtualHost v : rc.getVirtualHostsList()) {
      for (String d : v.getDomainsList()) {
        int score;
        if (d.equalsIgnoreCase(host)) {
          return v;
        } else if (d.equals("*")) {
          score = 0;
        } else if (d.startsWith("*") && host.toLowerCase().endsWith(d.substring(1).toLowerCase())
            && host.length() > d.length() - 1) {
          score = 2 * d.length();
        } else if (d.endsWith("*") && host.toLowerCase().startsWith(d.substring(0, d.length() - 1).toLowerCase())
            && host.length() > d.length() - 1) {
          score = 2 * d.length() - 1;
        } else {
          continue;
        }
        if (score > bestScore) {
          best = v;
          bestScore = score;
        }
      }
    }
    return best;
  }

  static Map<String, Object> cluster(MeshResources r, String name, long weight, long total) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("cluster", name);
    String[] parts = name.split("\\|", -1);
    if (parts.length == 4 && parts[0].equals("outbound")) { // a ServiceEntry host's outbound|<port>|<subset>|<host>
      c.put("service", parts[3]);
      c.put("subset", parts[2].isEmpty() ? null : parts[2]);
    } else {
      int bar = name.indexOf('|');
      c.put("service", bar < 0 ? name : name.substring(0, bar));
      c.put("subset", bar < 0 ? null : name.substring(bar + 1));
    }
    c.put("share", total == 0 ? 0 : Math.round(10000.0 * weight / total) / 100.0);
    List<String> endpoints = new ArrayList<>();
    for (ClusterLoadAssignment cla : r.endpoints()) {
      if (cla.getClusterName().equals(name)) {
        cla.getEndpointsList().forEach(l -> l.getLbEndpointsList().forEach(e -> endpoints.add(
            e.getEndpoint().getAddress().getSocketAddress().getAddress() + ":"
                + e.getEndpoint().getAddress().getSocketAddress().getPortValue())));
      }
    }
    r.clusters().stream().filter(x -> x.getName().equals(name)).findFirst().ifPresent(x -> {
      c.put("lbPolicy", x.getLbPolicy().name());
      Map<String, Object> limits = limits(x);
      if (!limits.isEmpty()) { // the DestinationRule's (subset's, port's) policy as this cluster runs it
        c.put("policy", limits);
      }
      // A ServiceEntry's DNS clusters carry their endpoints (names) inline; STATIC ones are EDS, as above.
      x.getLoadAssignment().getEndpointsList().forEach(l -> l.getLbEndpointsList().forEach(e -> endpoints.add(
          e.getEndpoint().getAddress().getSocketAddress().getAddress() + ":"
              + e.getEndpoint().getAddress().getSocketAddress().getPortValue())));
      if (x.getType() == io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.ORIGINAL_DST) {
        endpoints.add("(the connection's original destination)");
      }
    });
    c.put("endpoints", endpoints);
    return c;
  }

  /**
   * What a cluster limits or ejects on, as its DestinationRule set it (after subset and portLevelSettings merging):
   * connection pool limits below istiod's unlimited defaults, outlier detection thresholds, TLS origination.
   */
  private static Map<String, Object> limits(io.envoyproxy.envoy.config.cluster.v3.Cluster x) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (var t : x.getCircuitBreakers().getThresholdsList()) {
      if (t.hasMaxConnections() && t.getMaxConnections().getValue() != -1) {
        out.put("maxConnections", Integer.toUnsignedLong(t.getMaxConnections().getValue()));
      }
      if (t.hasMaxPendingRequests() && t.getMaxPendingRequests().getValue() != -1) {
        out.put("maxPendingRequests", Integer.toUnsignedLong(t.getMaxPendingRequests().getValue()));
      }
      if (t.hasMaxRequests() && t.getMaxRequests().getValue() != -1) {
        out.put("maxRequests", Integer.toUnsignedLong(t.getMaxRequests().getValue()));
      }
    }
    if (x.hasOutlierDetection()) {
      var o = x.getOutlierDetection();
      Map<String, Object> od = new LinkedHashMap<>();
      if (o.hasConsecutive5Xx()) {
        od.put("consecutive5xxErrors", o.getConsecutive5Xx().getValue());
      }
      if (o.hasConsecutiveGatewayFailure()) {
        od.put("consecutiveGatewayErrors", o.getConsecutiveGatewayFailure().getValue());
      }
      if (o.getSplitExternalLocalOriginErrors()) {
        od.put("consecutiveLocalOriginFailures", o.hasConsecutiveLocalOriginFailure()
            ? o.getConsecutiveLocalOriginFailure().getValue() : 5);
      }
      if (o.hasBaseEjectionTime()) {
        od.put("baseEjectionTime", o.getBaseEjectionTime().getSeconds() + "s");
      }
      out.put("outlierDetection", od);
    }
    if (x.hasTransportSocket() && x.getName().startsWith("outbound|")) { // a ServiceEntry host's: the rule's tls
      out.put("tls", "originated");
    }
    return out;
  }

  private static String describe(Route route) {
    var m = route.getMatch();
    StringBuilder b = new StringBuilder();
    switch (m.getPathSpecifierCase()) {
      case PREFIX -> b.append("path prefix '").append(m.getPrefix()).append("'");
      case PATH -> b.append("path '").append(m.getPath()).append("'");
      case SAFE_REGEX -> b.append("path regex '").append(m.getSafeRegex().getRegex()).append("'");
      default -> b.append("any path");
    }
    for (HeaderMatcher hm : m.getHeadersList()) {
      b.append(", header ").append(hm.getName()).append(' ').append(string(hm.getStringMatch()));
    }
    for (QueryParameterMatcher qm : m.getQueryParametersList()) {
      b.append(", query ").append(qm.getName()).append(' ').append(string(qm.getStringMatch()));
    }
    return b.toString();
  }

  private static String mismatch(Route route, String path, Map<String, String> headers, Map<String, String> query) {
    var m = route.getMatch();
    boolean pathOk = switch (m.getPathSpecifierCase()) {
      case PREFIX -> path.startsWith(m.getPrefix());
      case PATH -> path.equals(m.getPath());
      case SAFE_REGEX -> Pattern.compile(m.getSafeRegex().getRegex()).matcher(path).matches();
      default -> true;
    };
    if (!pathOk) {
      return "path '" + path + "' is not " + describe(Route.newBuilder().setMatch(m.toBuilder().clearHeaders()
          .clearQueryParameters()).build());
    }
    for (HeaderMatcher hm : m.getHeadersList()) {
      String v = headers.get(hm.getName().toLowerCase());
      if (v == null || !matches(hm.getStringMatch(), v)) {
        return "header " + hm.getName() + " is " + (v == null ? "absent" : "'" + v + "'") + ", expected "
            + string(hm.getStringMatch());
      }
    }
    for (QueryParameterMatcher qm : m.getQueryParametersList()) {
      String v = query.get(qm.getName());
      if (v == null || !matches(qm.getStringMatch(), v)) {
        return "query parameter " + qm.getName() + " is " + (v == null ? "absent" : "'" + v + "'") + ", expected "
            + string(qm.getStringMatch());
      }
    }
    return null;
  }

  private static boolean matches(StringMatcher sm, String v) {
    return switch (sm.getMatchPatternCase()) {
      case EXACT -> v.equals(sm.getExact());
      case PREFIX -> v.startsWith(sm.getPrefix());
      case SUFFIX -> v.endsWith(sm.getSuffix());
      case CONTAINS -> v.contains(sm.getContains());
      case SAFE_REGEX -> Pattern.compile(sm.getSafeRegex().getRegex()).matcher(v).matches();
      default -> true;
    };
  }

  private static String string(StringMatcher sm) {
    return switch (sm.getMatchPatternCase()) {
      case EXACT -> "= '" + sm.getExact() + "'";
      case PREFIX -> "starting with '" + sm.getPrefix() + "'";
      case SAFE_REGEX -> "matching '" + sm.getSafeRegex().getRegex() + "'";
      default -> sm.toString().trim();
    };
  }

  static Map<String, String> query(String q) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : q.split("&")) {
      if (kv.isEmpty()) {
        continue;
      }
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      out.putIfAbsent(k, v);
    }
    return out;
  }
}
