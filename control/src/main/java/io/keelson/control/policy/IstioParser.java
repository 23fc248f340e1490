package io.keelson.control.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code VirtualService} and {@code DestinationRule} ({@code networking.istio.io/v1}), HTTP
 * only. Fields Keelson does not act on yet are rejected by name, never dropped. Stateless.
 */
final class IstioParser {
  private static final java.util.regex.Pattern SUBSET_NAME =
      java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Set<String> LB = Set.of("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM");

  private IstioParser() {}

  /**
   * The service key {@code host}, written in {@code f}'s document, names ({@link ServiceNames#resolve}): "reviews" is
   * the document namespace's, "reviews.shop", "reviews.shop.svc" and "reviews.shop.svc.cluster.local" namespace shop's.
   */
  static String serviceOf(Fields f, String host) {
    return ServiceNames.resolve(host, f.namespace());
  }

  static Policy virtualService(Policy.Meta meta, Fields spec) {
    spec.allow("hosts", "gateways", "http", "tcp", "tls", "exportTo");
    List<String> gateways = gateways(spec);
    boolean forMesh = gateways.isEmpty() || gateways.contains(Policy.Routes.MESH);
    List<String> hosts = new ArrayList<>();
    // Without hosts: a delegate (child) VirtualService, whose http rules only a root's delegate rule serves.
    boolean child = !spec.has("hosts");
    List<String> written = child ? List.of() : spec.strings("hosts", true);
    for (int i = 0; i < written.size(); i++) {
      String h = written.get(i);
      if (h.contains("*") && forMesh) {
        spec.error("hosts", "wildcard host '" + h + "' is not supported yet for sidecars ('mesh'); expected service"
            + " names (wildcards are for gateways: list only gateways in spec.gateways)");
      } else if (!forMesh && !IstioGatewayParser.gatewayHost(h)) {
        spec.error("hosts", "hosts[" + i + "] '" + h + "' is not a DNS name; expected a name such as shop.example.com,"
            + " a wildcard *.example.com, or *");
      } else {
        hosts.add(forMesh ? serviceOf(spec, h) : h);
      }
    }
    List<Policy.Rule> rules = new ArrayList<>();
    List<Fields> http = spec.objects("http", false);
    for (int i = 0; i < http.size(); i++) {
      rules.add(rule(http.get(i), meta.name() + "-" + i));
    }
    List<Policy.StreamRule> streams = new ArrayList<>();
    List<Fields> tcp = spec.objects("tcp", false);
    for (int i = 0; i < tcp.size(); i++) {
      streams.addAll(streamRule(tcp.get(i), Policy.Protocol.TCP, "spec.tcp[" + i + "]", gateways));
    }
    List<Fields> tls = spec.objects("tls", false);
    for (int i = 0; i < tls.size(); i++) {
      streams.addAll(streamRule(tls.get(i), Policy.Protocol.TLS, "spec.tls[" + i + "]", gateways));
    }
    if (http.isEmpty() && tcp.isEmpty() && tls.isEmpty()) {
      spec.error("http", "is required (or tcp, or tls)");
    }
    if (child) {
      childChecks(spec, rules, gateways, !tcp.isEmpty() || !tls.isEmpty());
    }
    return new Policy.Routes(meta, List.copyOf(hosts), List.of(), List.copyOf(rules), streams, gateways);
  }

  /**
   * A delegate VirtualService (no hosts): served only through a root's {@code delegate}, one level deep, so it binds
   * no gateways, has no tcp/tls rules and delegates no further.
   */
  private static void childChecks(Fields spec, List<Policy.Rule> rules, List<String> gateways, boolean streams) {
    if (!gateways.isEmpty()) {
      spec.error("gateways", "a VirtualService without hosts is a delegate, served only where a root VirtualService's"
          + " http[].delegate names it; expected no gateways (bind the root), or set hosts");
    }
    if (streams) {
      spec.error("hosts", "is required for tcp and tls rules (a VirtualService without hosts is an http delegate)");
    }
    for (int i = 0; i < rules.size(); i++) {
      if (rules.get(i).delegate() != null) {
        spec.error("http", "http[" + i + "].delegate: a delegate VirtualService (no hosts) cannot delegate again;"
            + " Istio delegates one level only");
      }
    }
  }

  /**
   * {@code spec.gateways}: {@value Policy.Routes#MESH}, or Istio Gateways as {@code namespace/name} (a bare name is
   * in the VirtualService's namespace, as istiod resolves it).
   */
  private static List<String> gateways(Fields spec) {
    List<String> out = new ArrayList<>();
    List<String> written = spec.strings("gateways", false);
    for (int i = 0; i < written.size(); i++) {
      String g = written.get(i);
      String ref = g.equals(Policy.Routes.MESH) || g.contains("/") ? g : spec.namespace() + "/" + g;
      if (!ref.equals(Policy.Routes.MESH) && !ref.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
        spec.error("gateways", "gateways[" + i + "] '" + g + "' is not a gateway name; expected mesh, NAME or"
            + " NAMESPACE/NAME of a Gateway");
      } else if (!out.contains(ref)) {
        out.add(ref);
      }
    }
    return out;
  }

  /**
   * A {@code tcp[]} or {@code tls[]} rule: {@code match[]} by {@code port}, {@code destinationSubnets} (all matches
   * of a rule with them, or none) and, for tls, the required {@code sniHosts} (one rule per SNI match set, as Keelson
   * routes the first match); weighted
   * {@code route[].destination}s. A tls rule whose matches carry different conditions ({@code gateways},
   * {@code sourceLabels}, {@code sourceNamespace}) becomes one rule per distinct condition set, each with only the SNI
   * names of its own matches: a match's names apply only where its own conditions hold.
   */
  private static List<Policy.StreamRule> streamRule(Fields r, Policy.Protocol protocol, String field,
      List<String> vsGateways) {
    r.allow("match", "route");
    List<Fields> match = r.objects("match", protocol == Policy.Protocol.TLS);
    Integer port = null;
    List<String> sni = new ArrayList<>();
    List<Policy.MatchScope> scopes = new ArrayList<>();
    Map<Policy.MatchScope, List<String>> sniByScope = new java.util.LinkedHashMap<>();
    Map<Policy.MatchScope, List<String>> subnetsByScope = new java.util.LinkedHashMap<>();
    boolean anySubnets = false;
    for (Fields m : match) {
      m.allow(protocol == Policy.Protocol.TLS
          ? Set.of("port", "sniHosts", "sourceLabels", "sourceNamespace", "gateways", "destinationSubnets")
          : Set.of("port", "sourceLabels", "sourceNamespace", "gateways", "destinationSubnets"), Map.of());
      List<String> written = m.strings("destinationSubnets", false);
      SecurityParser.checkCidrs(m, "destinationSubnets", written);
      // As Envoy reads them (host bits masked, a bare address /32 or /128): one prefix is one filter chain match.
      List<String> own = written.stream().filter(c -> Cidr.problem(c) == null).map(Cidr::canonical).toList();
      if (m != match.getFirst() && written.isEmpty() == anySubnets) {
        m.error("destinationSubnets", "some matches of this rule have destinationSubnets and some do not; expected"
            + " one rule for the matches with destinationSubnets and another for those without");
      }
      anySubnets = !written.isEmpty();
      Policy.MatchScope scope = matchScope(m, false);
      List<String> scopeSubnets = subnetsByScope.computeIfAbsent(scope, k -> new ArrayList<>());
      own.stream().filter(c -> !scopeSubnets.contains(c)).forEach(scopeSubnets::add);
      List<String> at = scope.gateways().isEmpty() ? vsGateways : scope.gateways();
      if (!own.isEmpty() && at.stream().anyMatch(g -> !g.equals(Policy.Routes.MESH))) {
        m.error("destinationSubnets", "selects a captured sidecar's filter chains by destination address; not"
            + " supported on gateways (" + at + "): bind this match to mesh only");
      }
      scopes.add(scope);
      List<String> scopeSni = sniByScope.computeIfAbsent(scope, k -> new ArrayList<>());
      Integer p = m.integer("port", 1, 65535, null);
      if (p != null && port != null && !p.equals(port)) {
        m.error("port", "matches of one rule name different ports (" + port + ", " + p + "); write one rule per port");
      }
      port = p != null ? p : port;
      if (protocol == Policy.Protocol.TLS) {
        // Envoy's server_names: exact names and *.suffix wildcards (exact wins, then the longest suffix).
        for (String h : m.strings("sniHosts", true)) {
          if (h.equals("*") || !IstioGatewayParser.gatewayHost(h)) {
            m.error("sniHosts", "'" + h + "' is not an SNI name; expected a host name such as app.example.com or a"
                + " wildcard *.example.com");
          } else { // as written: istiod expands no sniHosts (a client's SNI db matches the chain of db, not db.NS...)
            sni.add(h);
            scopeSni.add(h);
          }
        }
      }
    }
    List<Policy.Backend> backends = new ArrayList<>();
    List<Fields> route = r.objects("route", true);
    for (Fields d : route) {
      d.allow("destination", "weight");
      Fields dest = d.object("destination", true);
      int weight = d.integer("weight", 0, 1_000_000, route.size() == 1 ? 100 : 0) instanceof Integer w ? w : 0;
      if (route.size() > 1 && !d.has("weight")) {
        d.error("weight", "is required when a route has several destinations");
      }
      Policy.Backend backend = dest == null ? null : destination(dest, weight);
      if (backend != null) {
        backends.add(backend);
      }
    }
    if (!backends.isEmpty() && backends.stream().mapToLong(Policy.Backend::weight).sum() == 0) {
      r.error("route", "the weights add up to 0; expected at least one destination with a weight above 0");
    }
    // A rule whose matches carry no conditions applies everywhere: keep its scopes empty, as before.
    boolean conditioned = scopes.stream().anyMatch(s -> !s.equals(Policy.MatchScope.ANY));
    if (sniByScope.size() > 1 && (protocol == Policy.Protocol.TLS || anySubnets)) {
      // A match's SNI names and subnets apply only where its own conditions hold: one rule per condition set.
      List<Policy.StreamRule> perScope = new ArrayList<>();
      for (Map.Entry<Policy.MatchScope, List<String>> e : sniByScope.entrySet()) {
        perScope.add(new Policy.StreamRule(protocol, port, e.getValue(), backends, field, List.of(e.getKey()),
            subnetsByScope.get(e.getKey())));
      }
      return perScope;
    }
    List<String> subnets = new ArrayList<>();
    subnetsByScope.values().forEach(l -> l.stream().filter(c -> !subnets.contains(c)).forEach(subnets::add));
    return List.of(new Policy.StreamRule(protocol, port, sni, backends, field, conditioned ? scopes : List.of(),
        subnets));
  }

  /** A route's {@code destination} ({@code host}, {@code subset}, {@code port.number}) with {@code weight}, or null without a host. */
  private static Policy.Backend destination(Fields dest, int weight) {
    dest.allow("host", "subset", "port");
    String host = dest.string("host", true);
    String subset = dest.string("subset", false);
    int port = destinationPort(dest);
    return host == null ? null : new Policy.Backend(serviceOf(dest, host), subset, port, weight);
  }

  /**
   * An http rule with {@code delegate: {name, namespace}}: its {@code match} and the options its delegate's rules
   * inherit where they set none (istiod's {@code mergeHTTPRoute}: rewrite, timeout, retries, fault, mirror(s),
   * corsPolicy, headers); the delegate VirtualService's rules say where the requests go (Istio: a delegating rule has
   * no route, redirect or direct response of its own).
   */
  private static Policy.Rule delegating(Fields r, String defaultName) {
    r.allow(Set.of("name", "match", "delegate", "rewrite", "timeout", "headers", "retries", "mirror",
        "mirrorPercentage", "mirrors", "fault", "corsPolicy"), Map.of(
        "route", "a rule with a delegate has no route of its own; the delegate VirtualService's rules route",
        "redirect", "a rule with a delegate has no redirect of its own; set it in the delegate VirtualService",
        "directResponse", "a rule with a delegate has no directResponse of its own; set it in the delegate"
            + " VirtualService",
        "mirror_percent", "mirror_percent is deprecated in Istio; use mirrorPercentage"));
    String name = r.string("name", false);
    List<Policy.Match> matches = new ArrayList<>();
    for (Fields m : r.objects("match", false)) {
      matches.add(match(m));
    }
    Fields d = r.object("delegate", true);
    String child = null;
    if (d != null) {
      d.allow("name", "namespace");
      child = d.string("name", true);
      // Istio's default: the delegating VirtualService's namespace. Kept as a document key's NS/NAME (Delegation).
      String ns = d.string("namespace", false);
      String in = ns == null ? d.namespace() : ns;
      if (child != null && !in.equals(ServiceNames.DEFAULT_NAMESPACE)) {
        child = in + "/" + child;
      }
    }
    Options o = options(r);
    return new Policy.Rule(name == null ? defaultName : name, List.copyOf(matches), List.of(), null, o.rewrite(),
        o.requestHeaders(), o.responseHeaders(), o.timeout(), o.retry(), o.mirrors(), o.fault(), o.cors(), null,
        child);
  }

  /** What an http rule does to the requests it routes, besides where they go: the fields a delegate inherits too. */
  private record Options(Policy.Rewrite rewrite, Duration timeout, Policy.HeaderOps requestHeaders,
      Policy.HeaderOps responseHeaders, Policy.Retry retry, List<Policy.Mirror> mirrors, Policy.Fault fault,
      Policy.Cors cors) {}

  private static Options options(Fields r) {
    Policy.Rewrite rewrite = null;
    Fields rw = r.object("rewrite", false);
    if (rw != null) {
      rw.allow("uri", "authority", "uriRegexRewrite");
      String uri = rw.string("uri", false);
      Fields rx = rw.object("uriRegexRewrite", false); // istiod: regex_rewrite {pattern: match, substitution: rewrite}
      String[] regex = rx == null ? new String[2] : PolicyParser.regexRewrite(rx, "match", "rewrite");
      if (rx != null && uri != null) {
        rw.error("uriRegexRewrite", "is set together with uri; expected only one of uri and uriRegexRewrite");
      }
      rewrite = new Policy.Rewrite(uri, rw.string("authority", false), regex[0], regex[1]);
    }
    Duration timeout = PolicyParser.duration(r, "timeout");
    Policy.HeaderOps req = Policy.HeaderOps.NONE;
    Policy.HeaderOps resp = Policy.HeaderOps.NONE;
    Fields headers = r.object("headers", false);
    if (headers != null) {
      headers.allow("request", "response");
      req = headerOps(headers.object("request", false));
      resp = headerOps(headers.object("response", false));
    }
    return new Options(rewrite, timeout, req, resp, ResilienceParser.istioRetries(r), mirror(r), FaultParser.istio(r),
        CorsParser.istio(r));
  }

  private static Policy.Rule rule(Fields r, String defaultName) {
    if (r.has("delegate")) {
      return delegating(r, defaultName);
    }
    r.allow(Set.of("name", "match", "route", "redirect", "rewrite", "timeout", "headers", "retries", "mirror",
        "mirrorPercentage", "fault", "corsPolicy", "directResponse", "mirrors"), Map.of(
        "mirror_percent", "mirror_percent is deprecated in Istio; use mirrorPercentage"));
    String name = r.string("name", false);
    List<Policy.Match> matches = new ArrayList<>();
    for (Fields m : r.objects("match", false)) {
      matches.add(match(m));
    }
    List<Policy.Backend> backends = new ArrayList<>();
    List<Fields> route = r.objects("route", false);
    for (Fields d : route) {
      d.allow(Set.of("destination", "weight", "headers"), Map.of());
      Fields dest = d.object("destination", true);
      int weight = d.integer("weight", 0, 1_000_000, route.size() == 1 ? 100 : 0) instanceof Integer w ? w : 0;
      if (route.size() > 1 && !d.has("weight")) {
        d.error("weight", "is required when a route has several destinations");
      }
      if (d.has("headers")) {
        d.error("headers", "per-destination header operations are not supported yet; set them on the http rule");
      }
      Policy.Backend backend = dest == null ? null : destination(dest, weight);
      if (backend != null) {
        backends.add(backend);
      }
    }
    Policy.Redirect redirect = null;
    Fields rd = r.object("redirect", false);
    if (rd != null) {
      rd.allow(Set.of("uri", "authority", "port", "scheme", "redirectCode"), Map.of());
      Integer port = rd.integer("port", 1, 65535, null);
      Integer code = rd.integer("redirectCode", 300, 399, 301);
      if (code != null && !java.util.Set.of(301, 302, 303, 307, 308).contains(code)) {
        rd.error("redirectCode", code + " is not supported; expected one of 301, 302, 303, 307, 308");
      }
      redirect = new Policy.Redirect(rd.string("scheme", false), rd.string("authority", false), port,
          rd.string("uri", false), null, code == null ? 301 : code);
    }
    if (redirect != null && !route.isEmpty()) {
      r.error("redirect", "a rule has either route or redirect, not both");
    }
    Policy.DirectResponse direct = directResponse(r, !route.isEmpty(), redirect != null);
    if (redirect == null && route.isEmpty() && !r.has("directResponse")) {
      r.error("route", "is required (or a redirect)");
    }
    if (!backends.isEmpty() && backends.stream().mapToLong(Policy.Backend::weight).sum() == 0) {
      r.error("route", "the weights add up to 0; expected at least one destination with a weight above 0");
    }
    Options o = options(r);
    List<Policy.Mirror> mirrors = o.mirrors();
    if (redirect != null && !mirrors.isEmpty()) {
      r.error("mirror", "a rule with a redirect answers itself; it has no request to mirror");
    }
    if (r.has("directResponse") && !mirrors.isEmpty()) {
      r.error(r.has("mirror") ? "mirror" : "mirrors", "a rule with a directResponse answers itself; it has no request to mirror");
    }
    return new Policy.Rule(name == null ? defaultName : name, List.copyOf(matches), List.copyOf(backends), redirect,
        o.rewrite(), o.requestHeaders(), o.responseHeaders(), o.timeout(), o.retry(), mirrors, o.fault(), o.cors(),
        direct);
  }

  /**
   * directResponse ({@code status} 200-599, {@code body.string} or base64 {@code body.bytes}), or null. As istiod
   * validates it: not with route, redirect, fault or rewrite; a body over 1 MiB is an error, over 100 KiB a warning.
   */
  private static Policy.DirectResponse directResponse(Fields r, boolean routed, boolean redirected) {
    Fields d = r.object("directResponse", false);
    if (d == null) {
      return null;
    }
    if (routed) {
      r.error("directResponse", "a rule has either route or directResponse, not both");
    }
    if (redirected) {
      r.error("directResponse", "a rule has either redirect or directResponse, not both");
    }
    for (String f : List.of("fault", "rewrite")) {
      if (r.has(f)) {
        r.error(f, "a rule with a directResponse answers itself; it has no request to " + (f.equals("fault")
            ? "delay or abort" : "rewrite") + " (istiod rejects " + f + " with directResponse)");
      }
    }
    for (String f : List.of("timeout", "retries")) {
      if (r.has(f)) {
        r.warn(f, "ignored: a rule with a directResponse sends no request upstream");
      }
    }
    d.allow("status", "body");
    Integer status = d.integer("status", 200, 599, null);
    if (status == null && !d.has("status")) {
      d.error("status", "is required");
    }
    String string = null;
    String bytes = null;
    int size = 0;
    Fields body = d.object("body", false);
    if (body != null) {
      body.allow("string", "bytes");
      if (body.has("string") && body.has("bytes")) {
        body.error(null, "expected one of string, bytes, not both");
      }
      string = body.string("string", false);
      bytes = body.string("bytes", false);
      if (string != null) {
        size = string.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      } else if (bytes != null) {
        try { // proto JSON bytes: standard or URL-safe base64, padding optional
          size = java.util.Base64.getDecoder().decode(bytes.replace('-', '+').replace('_', '/')).length;
        } catch (IllegalArgumentException e) {
          body.error("bytes", "is not base64: " + e.getMessage());
          bytes = null;
        }
      }
    }
    if (size > 1 << 20) {
      d.error("body", "is " + size + " bytes; expected at most 1 MiB (istiod's limit)");
    } else if (size > 100 << 10) {
      d.warn("body", "is " + size + " bytes; large direct responses are pushed to every proxy with each route change");
    }
    return status == null ? null : new Policy.DirectResponse(status, string, bytes);
  }

  /**
   * mirror (a Destination) and mirrorPercentage.value (0-100, 100 when absent, as Istio does), or mirrors[]
   * ({@code destination}, {@code percentage.value} the same way): one mirror policy each; not both.
   */
  private static List<Policy.Mirror> mirror(Fields r) {
    if (r.has("mirrors")) {
      if (r.has("mirror")) {
        r.error("mirrors", "a rule has either mirror or mirrors, not both (istiod rejects both)");
      }
      if (r.has("mirrorPercentage")) {
        r.error("mirrorPercentage", "applies to mirror only; set percentage on each of mirrors");
      }
      List<Policy.Mirror> out = new ArrayList<>();
      List<Fields> items = r.objects("mirrors", false);
      for (int i = 0; i < items.size(); i++) {
        Fields m = items.get(i);
        m.allow("destination", "percentage");
        Policy.Mirror one = mirrorTo(m.object("destination", true), m.object("percentage", false),
            "mirrors[" + i + "].destination");
        if (one != null) {
          out.add(one);
        }
      }
      return List.copyOf(out);
    }
    Fields dest = r.object("mirror", false);
    if (dest == null) {
      if (r.has("mirrorPercentage")) {
        r.error("mirrorPercentage", "is set but mirror is not; expected a mirror destination");
      }
      return List.of();
    }
    Policy.Mirror one = mirrorTo(dest, r.object("mirrorPercentage", false), null);
    return one == null ? List.of() : List.of(one);
  }

  /** A Destination's {@code port.number}: 0 when it has none or a bad one (reported as an error). */
  private static int destinationPort(Fields dest) {
    Fields p = dest.object("port", false);
    if (p == null) {
      return 0;
    }
    p.allow("number");
    return p.integer("number", 1, 65535, 0) instanceof Integer n ? n : 0;
  }

  /** A mirror Destination and its Percent (100 when null), field as Policy.Mirror's; null after an error. */
  private static Policy.Mirror mirrorTo(Fields dest, Fields pct, String field) {
    if (dest == null) {
      return null;
    }
    dest.allow("host", "subset", "port");
    String host = dest.string("host", true);
    int port = destinationPort(dest);
    int perMillion = 1_000_000;
    if (pct != null) {
      pct.allow("value");
      Double v = pct.number("value", 0, 100, 100.0);
      perMillion = v == null ? 0 : (int) Math.round(v * 10_000);
    }
    if (host == null) {
      return null;
    }
    return new Policy.Mirror(new Policy.Backend(serviceOf(dest, host), dest.string("subset", false), port, 0), perMillion,
        field, pct != null);
  }

  private static Policy.HeaderOps headerOps(Fields f) {
    if (f == null) {
      return Policy.HeaderOps.NONE;
    }
    f.allow("set", "add", "remove");
    return new Policy.HeaderOps(Map.copyOf(f.stringMap("set")), Map.copyOf(f.stringMap("add")),
        List.copyOf(f.strings("remove", false)));
  }

  private static Policy.Match match(Fields m) {
    m.allow(Set.of("name", "uri", "headers", "method", "queryParams", "ignoreUriCase", "withoutHeaders", "authority",
        "gateways", "sourceLabels", "sourceNamespace", "port", "scheme"), Map.of());
    Policy.MatchScope scope = matchScope(m, true);
    boolean ignoreUriCase = Boolean.TRUE.equals(m.bool("ignoreUriCase"));
    Fields uri = m.object("uri", false);
    Policy.StringMatch path = uri == null ? null : stringMatch(uri);
    List<Policy.KeyMatch> headers = new ArrayList<>(keyMatches(m, "headers"));
    List<Policy.KeyMatch> query = keyMatches(m, "queryParams");
    String method = null;
    Fields meth = m.object("method", false);
    if (meth != null) {
      Policy.StringMatch sm = stringMatch(meth);
      if (sm != null && sm.type() == Policy.MatchType.EXACT) {
        method = sm.value();
      } else if (sm != null) {
        headers.add(new Policy.KeyMatch(":method", sm)); // as istiod: a :method header match
      }
    }
    pseudoHeader(m, "authority", headers); // as istiod: an :authority header match
    pseudoHeader(m, "scheme", headers); // as istiod: a :scheme header match
    List<Policy.KeyMatch> without = new ArrayList<>();
    for (var e : m.objectMap("withoutHeaders").entrySet()) {
      Fields f = e.getValue();
      if (!f.has("exact") && !f.has("prefix") && !f.has("regex")) {
        f.allow("exact", "prefix", "regex");
        without.add(new Policy.KeyMatch(e.getKey(), null)); // {}: the header must be absent
        continue;
      }
      Policy.StringMatch sm = stringMatch(f);
      if (sm != null) {
        without.add(new Policy.KeyMatch(e.getKey(), sm));
      }
    }
    headers.forEach(k -> JwtClaimKey.check(m, "headers", k.name())); // @request.auth.claims.*: a JWT claim match
    without.forEach(k -> JwtClaimKey.check(m, "withoutHeaders", k.name()));
    return new Policy.Match(path, List.copyOf(headers), List.copyOf(query), method, false, List.copyOf(without),
        ignoreUriCase, scope);
  }

  /** Match field {@code field}'s StringMatch as a header match on pseudo-header {@code :field}, when set. */
  private static void pseudoHeader(Fields m, String field, List<Policy.KeyMatch> headers) {
    Fields f = m.object(field, false);
    Policy.StringMatch sm = f == null ? null : stringMatch(f);
    if (sm != null) {
      headers.add(new Policy.KeyMatch(":" + field, sm));
    }
  }

  /** A match's {@code gateways}, {@code sourceLabels}, {@code sourceNamespace} and {@code port} (Istio's per-proxy conditions). */
  private static Policy.MatchScope matchScope(Fields m, boolean withPort) {
    if (!m.has("gateways") && !m.has("sourceLabels") && !m.has("sourceNamespace") && (!withPort || !m.has("port"))) {
      return Policy.MatchScope.ANY;
    }
    List<String> gateways = gateways(m);
    if (m.has("gateways") && gateways.isEmpty()) {
      m.error("gateways", "is empty; expected mesh, NAME or NAMESPACE/NAME of a Gateway (or leave it out)");
    }
    Map<String, String> labels = m.stringMap("sourceLabels");
    labels.forEach((k, v) -> {
      if (!k.matches("([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")) {
        m.error("sourceLabels", "'" + k + "' is not a label name; expected a Kubernetes label key such as app or"
            + " example.com/tier");
      }
    });
    String namespace = m.string("sourceNamespace", false);
    if (namespace != null && !namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
      m.error("sourceNamespace", "'" + namespace + "' is not a namespace name; expected a DNS label such as default");
    }
    return new Policy.MatchScope(gateways, labels, namespace, withPort ? m.integer("port", 1, 65535, null) : null);
  }

  private static List<Policy.KeyMatch> keyMatches(Fields m, String field) {
    List<Policy.KeyMatch> out = new ArrayList<>();
    for (var e : m.objectMap(field).entrySet()) {
      Policy.StringMatch sm = stringMatch(e.getValue());
      if (sm != null) {
        out.add(new Policy.KeyMatch(e.getKey(), sm));
      }
    }
    return out;
  }

  /** Istio StringMatch: exactly one of exact, prefix, regex. */
  static Policy.StringMatch stringMatch(Fields f) {
    f.allow("exact", "prefix", "regex");
    Map<Policy.MatchType, String> set = new LinkedHashMap<>();
    for (Policy.MatchType t : Policy.MatchType.values()) {
      String v = f.string(t.name().toLowerCase(), false);
      if (v != null) {
        set.put(t, v);
      }
    }
    if (set.size() != 1) {
      f.error(null, "expected exactly one of exact, prefix, regex");
      return null;
    }
    var e = set.entrySet().iterator().next();
    if (e.getKey() == Policy.MatchType.REGEX) {
      PolicyParser.checkRegex(f, "regex", e.getValue());
    }
    return new Policy.StringMatch(e.getKey(), e.getValue());
  }

  static Policy destinationRule(Policy.Meta meta, Fields spec) {
    spec.allow(Set.of("host", "subsets", "trafficPolicy", "exportTo", "workloadSelector"), Map.of());
    if (spec.has("workloadSelector")) {
      spec.error("workloadSelector", "workload selectors are not supported yet");
    }
    String host = spec.string("host", true);
    Fields topPolicy = spec.object("trafficPolicy", false);
    TrafficPolicy top = trafficPolicy(topPolicy, Level.RULE);
    List<Policy.Subset> subsets = new ArrayList<>();
    for (Fields s : spec.objects("subsets", false)) {
      s.allow("name", "labels", "trafficPolicy");
      String name = s.string("name", true);
      Map<String, String> labels = s.stringMap("labels");
      TrafficPolicy sub = trafficPolicy(s.object("trafficPolicy", false), Level.SUBSET);
      if (name != null) {
        if (subsets.stream().anyMatch(x -> x.name().equals(name))) {
          s.error("name", "subset '" + name + "' is defined twice");
        }
        if (!SUBSET_NAME.matcher(name).matches()) { // Istio's validateSubset; it names the cluster SERVICE|SUBSET
          s.error("name", "subset '" + name + "' is not a DNS-1123 label; expected lower case letters, digits and '-'"
              + " (at most 63), as Istio");
        }
        subsets.add(new Policy.Subset(name, Map.copyOf(labels), sub.lb().simple(), sub.lb().hash(), sub.lb().warmup(),
            sub.pool(), sub.outliers(), sub.tls(), sub.ports(), sub.proxyProtocol()));
      }
    }
    if (top.lb().locality() != null && top.outliers() == null && !top.lb().locality().disabled()
        && top.lb().locality().distribute().isEmpty()) {
      topPolicy.warn("loadBalancer.localityLbSetting", "failover takes effect only with outlierDetection (as in Istio):"
          + " without it every locality has the same priority");
    }
    return host == null ? null : new Policy.DestinationRule(meta, serviceOf(spec, host), top.lb().simple(),
        List.copyOf(subsets), top.pool(), top.outliers(), top.tls(), top.lb().locality(), top.lb().hash(),
        top.lb().warmup(), top.ports(), top.proxyProtocol());
  }

  /** Where a trafficPolicy is: the DestinationRule's own, a subset's, or one of their {@code portLevelSettings}. */
  private enum Level { RULE, SUBSET, PORT }

  /**
   * A trafficPolicy's {@code loadBalancer}: its {@code simple} policy, {@code consistentHash} and
   * {@code localityLbSetting}, each null if unset.
   */
  private record LoadBalancer(String simple, Policy.ConsistentHash hash, Policy.Warmup warmup,
      Policy.LocalityLbSetting locality) {
    static final LoadBalancer NONE = new LoadBalancer(null, null, null, null);
  }

  /**
   * A parsed trafficPolicy (or port-level entry, whose {@code ports} is empty); fields null when not set,
   * {@code proxyProtocol} the PROXY protocol version (0 when not set).
   */
  private record TrafficPolicy(LoadBalancer lb, Policy.ConnectionPool pool, Policy.OutlierDetection outliers,
      Policy.ClientTls tls, List<Policy.PortPolicy> ports, int proxyProtocol) {
    static final TrafficPolicy NONE = new TrafficPolicy(LoadBalancer.NONE, null, null, null, List.of(), 0);
  }

  private static TrafficPolicy trafficPolicy(Fields tp, Level level) {
    if (tp == null) {
      return TrafficPolicy.NONE;
    }
    Set<String> known = level == Level.PORT
        ? Set.of("port", "loadBalancer", "connectionPool", "outlierDetection", "tls")
        : Set.of("loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings", "proxyProtocol");
    tp.allow(known, Map.of(
        "tunnel", "tunnels are not supported yet",
        "proxyProtocol", "is not a field of a port-level setting (Istio's PortTrafficPolicy); set it on the"
            + " trafficPolicy of the DestinationRule or of a subset"));
    List<Policy.PortPolicy> ports = level == Level.PORT ? List.of() : portLevelSettings(tp);
    return new TrafficPolicy(loadBalancer(tp, level), ResilienceParser.connectionPool(tp),
        ResilienceParser.outlierDetection(tp), TlsOriginationParser.tls(tp), ports, proxyProtocol(tp));
  }

  /** {@code proxyProtocol.version}: V1 (Istio's default) is 1, V2 is 2; 0 when {@code proxyProtocol} is not set. */
  private static int proxyProtocol(Fields tp) {
    Fields pp = tp.object("proxyProtocol", false);
    if (pp == null) {
      return 0;
    }
    pp.allow("version");
    String version = pp.string("version", false);
    if (version == null || version.equals("V1")) {
      return 1;
    }
    if (version.equals("V2")) {
      return 2;
    }
    pp.error("version", "'" + version + "' is not a PROXY protocol version; expected V1 or V2");
    return 0;
  }

  /**
   * {@code portLevelSettings[]}: each names its port ({@code port.number}, once per list) and sets at least one of
   * loadBalancer, connectionPool, outlierDetection and tls (as istiod validates them).
   */
  private static List<Policy.PortPolicy> portLevelSettings(Fields tp) {
    List<Policy.PortPolicy> out = new ArrayList<>();
    List<Fields> items = tp.objects("portLevelSettings", false);
    for (Fields item : items) {
      TrafficPolicy p = trafficPolicy(item, Level.PORT);
      Fields port = item.object("port", true);
      if (port == null) {
        continue;
      }
      port.allow("number");
      if (!port.has("number")) {
        port.error("number", "is required; expected the service port (1-65535) this policy applies to");
        continue;
      }
      Integer number = port.integer("number", 1, 65535, null);
      if (number == null) {
        continue;
      }
      if (out.stream().anyMatch(x -> x.port() == number)) {
        port.error("number", "port " + number + " already has an entry in portLevelSettings; expected one per port");
        continue;
      }
      if (!item.has("loadBalancer") && !item.has("connectionPool") && !item.has("outlierDetection")
          && !item.has("tls")) {
        item.error(null, "sets no policy; expected at least one of loadBalancer, connectionPool, outlierDetection,"
            + " tls");
        continue;
      }
      out.add(new Policy.PortPolicy(number, new Policy.Balancing(p.lb().simple(), p.lb().hash(), p.lb().warmup()),
          p.pool(), p.outliers(), p.tls()));
    }
    return List.copyOf(out);
  }

  /** A trafficPolicy's {@code loadBalancer}; {@code localityLbSetting} only on the DestinationRule's own. */
  private static LoadBalancer loadBalancer(Fields tp, Level level) {
    Fields lb = tp.object("loadBalancer", false);
    if (lb == null) {
      return LoadBalancer.NONE;
    }
    Set<String> known = Set.of("simple", "consistentHash", "warmupDurationSecs", "warmup");
    boolean top = level == Level.RULE;
    if (top) {
      known = new java.util.HashSet<>(known);
      known.add("localityLbSetting");
    }
    lb.allow(known, Map.of("localityLbSetting", "is not supported " + (level == Level.PORT ? "in portLevelSettings"
        : "on a subset") + " yet; set it on the DestinationRule's trafficPolicy"));
    Policy.LocalityLbSetting locality = top ? LocalityLbParser.setting(lb) : null;
    Policy.ConsistentHash hash = ConsistentHashParser.consistentHash(lb);
    Policy.Warmup warmup = ConsistentHashParser.warmup(lb);
    String simple = lb.has("consistentHash") ? null : lb.string("simple", false);
    if (simple != null && !LB.contains(simple)) {
      lb.error("simple", "'" + simple + "' is not supported; expected one of LEAST_REQUEST, RANDOM, ROUND_ROBIN");
      return new LoadBalancer(null, hash, warmup, locality);
    }
    return new LoadBalancer(simple, hash, warmup, locality);
  }
}
