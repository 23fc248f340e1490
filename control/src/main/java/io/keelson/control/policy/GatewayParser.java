package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gateway API {@code HTTPRoute} ({@code gateway.networking.k8s.io/v1}): its parentRefs are Services, whose traffic
 * it routes (mesh/GAMMA form), and Gateways (with {@code sectionName}: one listener), whose listeners serve it for
 * its {@code hostnames}. Fields not acted on yet are rejected by name. Stateless.
 */
final class GatewayParser {
  private GatewayParser() {}

  static Policy httpRoute(Policy.Meta meta, Fields spec) {
    return route(meta, spec, GatewayParser::rule);
  }

  /**
   * An HTTPRoute or GRPCRoute: its parentRefs (Services and Gateways), hostnames and rules,
   * each rule read by {@code rule} (given the rule and its default name, {@code <route>-<index>}).
   */
  static Policy.Routes route(Policy.Meta meta, Fields spec,
      java.util.function.BiFunction<Fields, String, Policy.Rule> rule) {
    spec.allow("parentRefs", "hostnames", "rules");
    List<String> services = new ArrayList<>();
    List<String> gateways = parents(spec, meta, services, new ArrayList<>());
    List<String> hostnames = spec.strings("hostnames", false);
    for (int i = 0; i < hostnames.size(); i++) {
      if (!gateways.isEmpty() && !IstioGatewayParser.gatewayHost(hostnames.get(i))) {
        spec.error("hostnames", "hostnames[" + i + "] '" + hostnames.get(i) + "' is not a hostname; expected a DNS"
            + " name or a wildcard *.example.com");
      }
    }
    List<Policy.Rule> rules = new ArrayList<>();
    List<Fields> rs = spec.objects("rules", false);
    for (int i = 0; i < rs.size(); i++) {
      rules.add(rule.apply(rs.get(i), meta.name() + "-" + i));
    }
    if (rs.isEmpty()) {
      spec.error("rules", "is required: a route without rules sends nothing anywhere");
    }
    if (!gateways.isEmpty() && !services.isEmpty()) {
      gateways.add(Policy.Routes.MESH);
    }
    return new Policy.Routes(meta, List.copyOf(services), List.copyOf(hostnames), List.copyOf(rules), List.of(), gateways);
  }

  /**
   * A route's parentRefs: Services (mesh/GAMMA form) into {@code services} (and the {@code port} of each that names
   * one into {@code ports}); Gateways returned as {@code namespace/name} (the namespace defaults to the route's),
   * {@code namespace/name/sectionName} for one listener, with {@code :port} appended when the parentRef names a port
   * ({@code namespace/name/:port}: the listeners of that port).
   */
  static List<String> parents(Fields spec, Policy.Meta meta, List<String> services, List<Integer> ports) {
    List<String> gateways = new ArrayList<>();
    for (Fields p : spec.objects("parentRefs", true)) {
      p.allow(Set.of("group", "kind", "name", "namespace", "port", "sectionName"), Map.of());
      String kind = p.string("kind", false);
      String group = p.string("group", false);
      if (kind == null || kind.equals("Gateway")) {
        String name = p.string("name", true);
        if (group != null && !group.equals("gateway.networking.k8s.io")) {
          p.error("group", "'" + group + "' is not the group of kind Gateway; expected gateway.networking.k8s.io");
        }
        Integer port = p.integer("port", 1, 65535, null);
        String ns = p.string("namespace", false);
        String section = p.string("sectionName", false);
        if (name != null) {
          String own = meta.namespace().isEmpty() ? "default" : meta.namespace();
          String listener = (section == null ? "" : section) + (port == null ? "" : ":" + port);
          gateways.add((ns == null ? own : ns) + "/" + name + (listener.isEmpty() ? "" : "/" + listener));
        }
        continue;
      }
      if (!kind.equals("Service")) {
        p.error("kind", "parent kind '" + kind + "' is not supported; expected Gateway or Service (mesh routing, with"
            + " group: \"\")");
      } else if (group != null && !group.isEmpty() && !group.equals("core")) {
        p.error("group", "'" + group + "' is not the group of kind Service; expected \"\"");
      }
      String name = p.serviceName("name", true);
      if (p.has("sectionName")) {
        p.error("sectionName", "sectionName on a Service parent is not supported yet");
      }
      String ns = p.string("namespace", false);
      if (ns != null && !ns.equals(p.namespace())) {
        p.error("namespace", "'" + ns + "': a route for a Service of another namespace (a GAMMA consumer route) is not"
            + " supported yet; expected the route in the Service's namespace (" + ns + "), or leave namespace out");
      }
      if (name != null) {
        services.add(ServiceNames.key(name, p.namespace()));
      }
      Integer port = p.integer("port", 1, 65535, null);
      if (port != null) {
        ports.add(port);
      }
    }
    return gateways;
  }

  /**
   * The key of the Service a backendRef (or a mirror's) names ({@link ServiceNames}): {@code name} of its
   * {@code namespace}, the route's when not given. One of another namespace needs a ReferenceGrant there
   * ({@code store/ReferenceGrants}).
   */
  private static String backendService(Fields backendRef, String name) {
    String ns = backendRef.string("namespace", false);
    return ServiceNames.key(name, ns == null ? backendRef.namespace() : ns);
  }

  /** backendRefs: Services with an optional port and a weight (default 1). */
  static List<Policy.Backend> backendRefs(Fields r) {
    List<Policy.Backend> backends = new ArrayList<>();
    for (Fields b : r.objects("backendRefs", false)) {
      b.allow(Set.of("group", "kind", "name", "namespace", "port", "weight"), Map.of(
          "filters", "per-backend filters are not supported yet; put them on the rule"));
      String kind = b.string("kind", false);
      if (kind != null && !kind.equals("Service")) {
        b.error("kind", "'" + kind + "' is not supported; expected Service");
      }
      String svc = b.serviceName("name", true);
      Integer port = b.integer("port", 1, 65535, 0);
      Integer weight = b.integer("weight", 0, 1_000_000, 1);
      if (svc != null && port != null && weight != null) {
        backends.add(new Policy.Backend(backendService(b, svc), null, port, weight));
      }
    }
    return backends;
  }

  private static Policy.Rule rule(Fields r, String defaultName) {
    r.allow(Set.of("name", "matches", "filters", "backendRefs", "timeouts", "retry"), Map.of(
        "sessionPersistence", "session persistence is not supported yet"));
    String name = r.string("name", false);
    List<Policy.Match> matches = new ArrayList<>();
    for (Fields m : r.objects("matches", false)) {
      matches.add(match(m));
    }
    List<Policy.Backend> backends = backendRefs(r);
    Policy.Redirect redirect = null;
    Policy.Rewrite rewrite = null;
    Policy.HeaderOps req = Policy.HeaderOps.NONE;
    Policy.HeaderOps resp = Policy.HeaderOps.NONE;
    List<Policy.Mirror> mirrors = new ArrayList<>();
    Policy.Cors cors = null;
    for (Fields f : r.objects("filters", false)) {
      f.allow("type", "requestHeaderModifier", "responseHeaderModifier", "requestRedirect", "urlRewrite",
          "requestMirror", "extensionRef", "cors");
      String type = f.string("type", true);
      if (type == null) {
        continue;
      }
      switch (type) {
        case "RequestHeaderModifier" -> req = headerOps(f.object("requestHeaderModifier", true));
        case "ResponseHeaderModifier" -> resp = headerOps(f.object("responseHeaderModifier", true));
        case "RequestRedirect" -> redirect = redirect(f.object("requestRedirect", true));
        case "URLRewrite" -> rewrite = rewrite(f.object("urlRewrite", true));
        case "RequestMirror" -> {
          Policy.Mirror m = mirror(f.object("requestMirror", true));
          if (m != null) {
            mirrors.add(m);
          }
        }
        case "ExtensionRef" -> f.error("type", "ExtensionRef is not supported");
        case "CORS" -> {
          if (cors != null) {
            f.error("type", "a rule has at most one CORS filter");
          }
          cors = CorsParser.gateway(f.object("cors", true));
        }
        default -> f.error("type", "'" + type + "' is not a filter type; expected one of RequestHeaderModifier, "
            + "ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, CORS");
      }
    }
    if (redirect != null && !backends.isEmpty()) {
      r.error("backendRefs", "a rule with a RequestRedirect filter must not have backendRefs");
    }
    if (redirect == null && backends.isEmpty()) {
      r.error("backendRefs", "is required (or a RequestRedirect filter)");
    }
    if (!backends.isEmpty() && backends.stream().mapToLong(Policy.Backend::weight).sum() == 0) {
      r.error("backendRefs", "the weights add up to 0; expected at least one backend with a weight above 0");
    }
    java.time.Duration timeout = null;
    java.time.Duration backendRequest = null;
    Fields t = r.object("timeouts", false);
    if (t != null) {
      t.allow("request", "backendRequest");
      timeout = PolicyParser.duration(t, "request");
      backendRequest = PolicyParser.duration(t, "backendRequest");
      if (timeout != null && backendRequest != null && !timeout.isZero() && backendRequest.compareTo(timeout) > 0) {
        t.error("backendRequest", "must not be longer than request (" + t.string("request", false) + ")");
      }
    }
    if (redirect != null && !mirrors.isEmpty()) {
      r.error("filters", "a rule with a RequestRedirect filter answers itself; it has no request to mirror");
    }
    return new Policy.Rule(name == null ? defaultName : name, List.copyOf(matches), List.copyOf(backends), redirect,
        rewrite, req, resp, timeout, ResilienceParser.httpRouteRetry(r, backendRequest), mirrors, null, cors);
  }

  /** HTTPRequestMirrorFilter: backendRef (a Service), and percent or fraction (all requests by default). */
  static Policy.Mirror mirror(Fields f) {
    if (f == null) {
      return null;
    }
    f.allow("backendRef", "percent", "fraction");
    Fields b = f.object("backendRef", true);
    Policy.Backend backend = null;
    if (b != null) {
      b.allow("group", "kind", "name", "namespace", "port");
      String kind = b.string("kind", false);
      if (kind != null && !kind.equals("Service")) {
        b.error("kind", "'" + kind + "' is not supported; expected Service");
      }
      String svc = b.serviceName("name", true);
      Integer port = b.integer("port", 1, 65535, 0);
      if (svc != null && port != null) {
        backend = new Policy.Backend(backendService(b, svc), null, port, 0);
      }
    }
    int perMillion = 1_000_000;
    if (f.has("percent") && f.has("fraction")) {
      f.error("fraction", "set percent or fraction, not both");
    } else if (f.has("percent")) {
      Integer pct = f.integer("percent", 0, 100, 100);
      perMillion = pct == null ? 0 : pct * 10_000;
    } else if (f.has("fraction")) {
      Fields fr = f.object("fraction", true);
      fr.allow("numerator", "denominator");
      Integer num = fr.integer("numerator", 0, Integer.MAX_VALUE, null);
      Integer den = fr.integer("denominator", 1, Integer.MAX_VALUE, 100);
      if (num == null) {
        fr.error("numerator", "is required");
      } else if (den != null && num > den) {
        fr.error("numerator", num + " is above the denominator " + den + "; expected a fraction up to 1");
      } else if (den != null) {
        perMillion = (int) (num * 1_000_000L / den);
      }
    }
    return backend == null ? null : new Policy.Mirror(backend, perMillion);
  }

  private static Policy.Match match(Fields m) {
    m.allow("path", "headers", "queryParams", "method");
    Policy.StringMatch path = null;
    Fields p = m.object("path", false);
    if (p != null) {
      p.allow("type", "value");
      String type = p.string("type", false);
      String value = p.string("value", false);
      Policy.MatchType t = type == null ? Policy.MatchType.PREFIX : switch (type) {
        case "Exact" -> Policy.MatchType.EXACT;
        case "PathPrefix" -> Policy.MatchType.PREFIX;
        case "RegularExpression" -> Policy.MatchType.REGEX;
        default -> {
          p.error("type", "'" + type + "' is not a path match type; expected Exact, PathPrefix or RegularExpression");
          yield null;
        }
      };
      if (value != null && t != Policy.MatchType.REGEX && !value.startsWith("/")) {
        p.error("value", "'" + value + "' must start with '/'");
      }
      if (t == Policy.MatchType.REGEX && value != null) {
        PolicyParser.checkRegex(p, "value", value);
      }
      if (t != null) {
        path = new Policy.StringMatch(t, value == null ? "/" : value);
      }
    }
    return new Policy.Match(path, keyMatches(m, "headers"), keyMatches(m, "queryParams"), m.string("method", false));
  }

  static List<Policy.KeyMatch> keyMatches(Fields m, String field) {
    List<Policy.KeyMatch> out = new ArrayList<>();
    for (Fields h : m.objects(field, false)) {
      h.allow("type", "name", "value");
      String type = h.string("type", false);
      String name = h.string("name", true);
      String value = h.string("value", true);
      Policy.MatchType t = type == null || type.equals("Exact") ? Policy.MatchType.EXACT
          : type.equals("RegularExpression") ? Policy.MatchType.REGEX : null;
      if (t == null) {
        h.error("type", "'" + type + "' is not a match type; expected Exact or RegularExpression");
      }
      if (t == Policy.MatchType.REGEX && value != null) {
        PolicyParser.checkRegex(h, "value", value);
      }
      if (name != null && value != null && t != null) {
        out.add(new Policy.KeyMatch(name, new Policy.StringMatch(t, value)));
      }
    }
    return List.copyOf(out);
  }

  static Policy.HeaderOps headerOps(Fields f) {
    if (f == null) {
      return Policy.HeaderOps.NONE;
    }
    f.allow("set", "add", "remove");
    return new Policy.HeaderOps(nameValues(f, "set"), nameValues(f, "add"), List.copyOf(f.strings("remove", false)));
  }

  private static Map<String, String> nameValues(Fields f, String field) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Fields nv : f.objects(field, false)) {
      nv.allow("name", "value");
      String n = nv.string("name", true);
      String v = nv.string("value", true);
      if (n != null && v != null) {
        out.put(n, v);
      }
    }
    return Map.copyOf(out);
  }

  private static Policy.Redirect redirect(Fields f) {
    if (f == null) {
      return null;
    }
    f.allow("scheme", "hostname", "path", "port", "statusCode");
    String full = null;
    String prefix = null;
    Fields p = f.object("path", false);
    if (p != null) {
      p.allow("type", "replaceFullPath", "replacePrefixMatch");
      String type = p.string("type", true);
      if ("ReplaceFullPath".equals(type)) {
        full = p.string("replaceFullPath", true);
      } else if ("ReplacePrefixMatch".equals(type)) {
        prefix = p.string("replacePrefixMatch", true);
      } else if (type != null) {
        p.error("type", "'" + type + "' is not a path modifier; expected ReplaceFullPath or ReplacePrefixMatch");
      }
    }
    Integer code = f.integer("statusCode", 301, 308, 302);
    if (code != null && code != 301 && code != 302) {
      f.error("statusCode", code + " is not supported; expected 301 or 302 (the Gateway API's core values)");
    }
    return new Policy.Redirect(f.string("scheme", false), f.string("hostname", false), f.integer("port", 1, 65535, null),
        full, prefix, code == null ? 302 : code);
  }

  private static Policy.Rewrite rewrite(Fields f) {
    if (f == null) {
      return null;
    }
    f.allow("hostname", "path");
    String prefix = null;
    String full = null;
    Fields p = f.object("path", false);
    if (p != null) {
      p.allow("type", "replaceFullPath", "replacePrefixMatch");
      String type = p.string("type", true);
      if ("ReplacePrefixMatch".equals(type)) {
        prefix = p.string("replacePrefixMatch", true);
      } else if ("ReplaceFullPath".equals(type)) {
        full = p.string("replaceFullPath", true);
        if (full != null && !full.startsWith("/")) {
          p.error("replaceFullPath", "'" + full + "' must start with '/'");
          full = null;
        } else if (full != null && (full.contains("?") || full.contains("#") || full.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f))) {
          p.error("replaceFullPath", "'" + full + "' is not a path; expected path characters (percent-encoded where needed), "
              + "no query or fragment");
          full = null;
        }
      } else if (type != null) {
        p.error("type", "'" + type + "' is not a path modifier; expected ReplaceFullPath or ReplacePrefixMatch");
      }
    }
    // ReplaceFullPath as istiod writes it: a regex rewrite of the whole path ("/.*") to the new path, taken
    // literally (a backslash doubled: it is RE2's escape character in a substitution).
    return full == null ? new Policy.Rewrite(prefix, f.string("hostname", false))
        : new Policy.Rewrite(null, f.string("hostname", false), "/.*", full.replace("\\", "\\\\"));
  }
}
