package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's {@code AuthorizationPolicy} and {@code PeerAuthentication} ({@code security.istio.io/v1},
 * {@code v1beta1}) and {@code RequestAuthentication}. What Keelson cannot enforce is rejected by name
 * (the AUDIT action, targetRefs, JWKS from cookies), never silently dropped. Stateless.
 */
final class SecurityParser {
  private static final Pattern CONDITION_KEY = Pattern.compile(
      "request\\.headers\\[[^\\]]+\\]|source\\.ip|remote\\.ip|source\\.namespace|source\\.principal"
          + "|destination\\.ip|destination\\.port|connection\\.sni|request\\.auth\\.principal"
          + "|request\\.auth\\.audiences|request\\.auth\\.presenter|request\\.auth\\.claims(\\[[^\\]\\[]+\\])+");

  private SecurityParser() {}

  static Policy authorizationPolicy(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("selector", "action", "rules", "provider"), Map.of(
        "targetRef", "targetRef (Gateway API attachment) is not supported; use selector",
        "targetRefs", "targetRefs (Gateway API attachment) is not supported; use selector"));
    Map<String, String> selector = selector(spec);
    String a = spec.string("action", false);
    Authz.Action action = Authz.Action.ALLOW;
    if (a != null) {
      switch (a) {
        case "ALLOW" -> action = Authz.Action.ALLOW;
        case "DENY" -> action = Authz.Action.DENY;
        case "CUSTOM" -> action = Authz.Action.CUSTOM;
        case "AUDIT" -> spec.error("action", a + " is not supported; expected ALLOW, DENY or CUSTOM");
        default -> spec.error("action", "'" + a + "' is not an action; expected ALLOW, DENY or CUSTOM");
      }
    }
    // Provider names are the control plane's (its mesh config): ExtensionProviders checks them at apply.
    String provider = null;
    Fields p = spec.object("provider", false);
    if (action == Authz.Action.CUSTOM) {
      if (p == null) {
        spec.error("provider", "action CUSTOM needs provider.name, an extension provider of the control plane's"
            + " --mesh-config");
      } else {
        p.allow("name");
        provider = p.string("name", true);
        spec.warn("action", "CUSTOM is enforced on the inbound traffic of selected sidecars with an identity (HTTP"
            + " apps, and TCP apps with an envoyExtAuthzGrpc provider: an envoyExtAuthzHttp provider cannot check TCP"
            + " connections) and on selected gateways (HTTP/HTTPS servers, and TLS/TCP servers with an"
            + " envoyExtAuthzGrpc provider); passthrough traffic, gateways' TLS/TCP servers with an envoyExtAuthzHttp"
            + " provider and sidecars without an identity (no SPIFFE ID; their status says so) are not checked by the"
            + " provider");
      }
    } else if (p != null) {
      spec.error("provider", "provider is only for action CUSTOM; this policy's action is " + action);
    }
    List<Authz.Rule> rules = new ArrayList<>();
    for (Fields r : spec.objects("rules", false)) {
      r.allow("from", "to", "when");
      List<Authz.Source> from = new ArrayList<>();
      for (Fields f : r.objects("from", false)) {
        f.allow("source");
        Fields s = f.object("source", true);
        if (s != null) {
          from.add(source(s));
        }
      }
      List<Authz.Operation> to = new ArrayList<>();
      for (Fields t : r.objects("to", false)) {
        t.allow("operation");
        Fields o = t.object("operation", true);
        if (o != null) {
          to.add(operation(o));
        }
      }
      List<Authz.Condition> when = new ArrayList<>();
      for (Fields w : r.objects("when", false)) {
        w.allow("key", "values", "notValues");
        String key = w.string("key", true);
        if (key != null && !CONDITION_KEY.matcher(key).matches()) {
          w.error("key", "'" + key + "' is not supported; expected request.headers[NAME], source.ip, remote.ip,"
              + " source.namespace, source.principal, destination.ip, destination.port, connection.sni,"
              + " request.auth.principal, request.auth.audiences, request.auth.presenter or request.auth.claims[NAME]");
        }
        List<String> values = w.strings("values", false);
        List<String> notValues = w.strings("notValues", false);
        if (values.isEmpty() && notValues.isEmpty()) {
          w.error("values", "one of values or notValues is required");
        }
        if (key != null && (key.endsWith(".ip"))) {
          checkCidrs(w, "values", values);
          checkCidrs(w, "notValues", notValues);
        }
        if (key != null && key.equals("destination.port")) {
          checkPorts(w, "values", values);
          checkPorts(w, "notValues", notValues);
        }
        when.add(new Authz.Condition(key == null ? "" : key, values, notValues));
      }
      rules.add(new Authz.Rule(List.copyOf(from), List.copyOf(to), List.copyOf(when)));
    }
    return new Policy.AuthorizationPolicy(meta, namespace, selector, action, List.copyOf(rules), provider);
  }

  private static Authz.Source source(Fields s) {
    s.allow(Set.of("principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
        "remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals"), Map.of(
        "serviceAccounts", "serviceAccounts is not supported; use principals (<trust-domain>/ns/<ns>/sa/<sa>)",
        "notServiceAccounts", "notServiceAccounts is not supported; use notPrincipals"));
    Authz.Source src = new Authz.Source(s.strings("principals", false), s.strings("notPrincipals", false),
        s.strings("namespaces", false), s.strings("notNamespaces", false), s.strings("ipBlocks", false),
        s.strings("notIpBlocks", false), s.strings("remoteIpBlocks", false), s.strings("notRemoteIpBlocks", false),
        s.strings("requestPrincipals", false), s.strings("notRequestPrincipals", false));
    checkCidrs(s, "ipBlocks", src.ipBlocks());
    checkCidrs(s, "notIpBlocks", src.notIpBlocks());
    checkCidrs(s, "remoteIpBlocks", src.remoteIpBlocks());
    checkCidrs(s, "notRemoteIpBlocks", src.notRemoteIpBlocks());
    return src;
  }

  private static Authz.Operation operation(Fields o) {
    o.allow("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths");
    Authz.Operation op = new Authz.Operation(o.strings("hosts", false), o.strings("notHosts", false),
        o.strings("ports", false), o.strings("notPorts", false), o.strings("methods", false),
        o.strings("notMethods", false), o.strings("paths", false), o.strings("notPaths", false));
    checkPorts(o, "ports", op.ports());
    checkPorts(o, "notPorts", op.notPorts());
    return op;
  }

  /** Errors on {@code field} for each of {@code values} that is not an IP address or CIDR block. */
  static void checkCidrs(Fields f, String field, List<String> values) {
    for (String v : values) {
      String problem = Cidr.problem(v);
      if (problem != null) {
        f.error(field, "'" + v + "' " + problem);
      }
    }
  }

  private static void checkPorts(Fields f, String field, List<String> values) {
    for (String v : values) {
      if (!v.matches("\\d{1,5}") || Integer.parseInt(v) < 1 || Integer.parseInt(v) > 65535) {
        f.error(field, "'" + v + "' is not a port; expected 1-65535");
      }
    }
  }

  private static Map<String, String> selector(Fields spec) {
    Fields sel = spec.object("selector", false);
    if (sel == null) {
      return null;
    }
    sel.allow("matchLabels");
    Map<String, String> labels = sel.stringMap("matchLabels");
    return labels.isEmpty() ? null : Map.copyOf(labels);
  }

  static Policy requestAuthentication(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("selector", "jwtRules"), Map.of(
        "targetRef", "targetRef (Gateway API attachment) is not supported; use selector",
        "targetRefs", "targetRefs (Gateway API attachment) is not supported; use selector"));
    Map<String, String> selector = selector(spec);
    List<Authz.JwtRule> rules = new ArrayList<>();
    java.util.Set<String> issuers = new java.util.HashSet<>();
    for (Fields r : spec.objects("jwtRules", false)) {
      r.allow(Set.of("issuer", "audiences", "jwks", "jwksUri", "fromHeaders", "fromParams", "forwardOriginalToken",
          "outputPayloadToHeader", "fromCookies", "outputClaimToHeaders"), Map.of(
          "timeout", "timeout is not supported; JWKS fetches time out after 5 s"));
      String issuer = r.string("issuer", true);
      if (issuer != null && !issuers.add(issuer)) {
        r.error("issuer", "'" + issuer + "' is listed twice; expected one jwtRule per issuer");
      }
      String jwks = r.string("jwks", false);
      String jwksUri = r.string("jwksUri", false);
      if (jwks != null && jwksUri != null) {
        r.error("jwks", "set one of jwks or jwksUri, not both");
      } else if (jwks == null && jwksUri == null) {
        r.error("jwksUri", "one of jwksUri or jwks is required (Keelson does not discover keys through OpenID discovery)");
      }
      if (jwks != null) {
        try {
          com.fasterxml.jackson.databind.JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(jwks);
          if (n == null || !n.isObject() || !n.has("keys")) {
            r.error("jwks", "expected a JWKS: a JSON object with \"keys\"");
          }
        } catch (java.io.IOException e) {
          r.error("jwks", "not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
      }
      if (jwksUri != null) {
        try {
          java.net.URI u = java.net.URI.create(jwksUri);
          if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
            r.error("jwksUri", "'" + jwksUri + "' is not an http(s) URL");
          }
        } catch (IllegalArgumentException e) {
          r.error("jwksUri", "'" + jwksUri + "' is not an http(s) URL");
        }
      }
      Map<String, String> headers = new java.util.LinkedHashMap<>();
      for (Fields h : r.objects("fromHeaders", false)) {
        h.allow("name", "prefix");
        String name = h.string("name", true);
        String prefix = h.string("prefix", false);
        if (name != null) {
          headers.put(name.toLowerCase(java.util.Locale.ROOT), prefix == null ? "" : prefix);
        }
      }
      String output = r.string("outputPayloadToHeader", false);
      if (output != null && !output.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
        r.error("outputPayloadToHeader", "'" + output + "' is not a header name");
      }
      Boolean forward = r.bool("forwardOriginalToken");
      List<String> cookies = r.strings("fromCookies", false);
      for (String c : cookies) {
        if (!c.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
          r.error("fromCookies", "'" + c + "' is not a cookie name");
        }
      }
      Map<String, String> claims = new java.util.LinkedHashMap<>();
      for (Fields c : r.objects("outputClaimToHeaders", false)) {
        c.allow("header", "claim");
        String header = c.string("header", true);
        String claim = c.string("claim", true);
        if (header != null && (!header.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+") || header.equalsIgnoreCase("host"))) {
          c.error("header", "'" + header + "' is not a header name a claim may set");
        } else if (header != null && claim != null && claims.put(header.toLowerCase(java.util.Locale.ROOT), claim) != null) {
          c.error("header", "'" + header + "' is set twice; expected one claim per header");
        }
      }
      rules.add(new Authz.JwtRule(issuer == null ? "" : issuer, r.strings("audiences", false), jwks, jwksUri,
          java.util.Collections.unmodifiableMap(headers), r.strings("fromParams", false), forward != null && forward, output,
          List.copyOf(cookies), java.util.Collections.unmodifiableMap(claims)));
    }
    return new Policy.RequestAuthentication(meta, namespace, selector, List.copyOf(rules));
  }

  static Policy peerAuthentication(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow("selector", "mtls", "portLevelMtls");
    Map<String, String> selector = selector(spec);
    Authz.MtlsMode mode = Authz.MtlsMode.UNSET;
    Fields mtls = spec.object("mtls", false);
    if (mtls != null) {
      mode = mode(mtls);
    }
    Map<Integer, Authz.MtlsMode> ports = new LinkedHashMap<>();
    Map<String, Fields> portLevel = spec.objectMap("portLevelMtls");
    if (!portLevel.isEmpty() && selector == null) {
      spec.error("portLevelMtls", "needs a workload selector (Istio ignores port-level mTLS on namespace-wide policies)");
    }
    for (var e : portLevel.entrySet()) {
      if (!e.getKey().matches("\\d{1,5}") || Integer.parseInt(e.getKey()) < 1 || Integer.parseInt(e.getKey()) > 65535) {
        spec.error("portLevelMtls", "'" + e.getKey() + "' is not a port; expected 1-65535");
        continue;
      }
      ports.put(Integer.parseInt(e.getKey()), mode(e.getValue()));
    }
    return new Policy.PeerAuthentication(meta, namespace, selector, mode, Map.copyOf(ports));
  }

  private static Authz.MtlsMode mode(Fields mtls) {
    mtls.allow("mode");
    String m = mtls.string("mode", false);
    if (m == null) {
      return Authz.MtlsMode.UNSET;
    }
    try {
      return Authz.MtlsMode.valueOf(m);
    } catch (IllegalArgumentException e) {
      mtls.error("mode", "'" + m + "' is not a mode; expected STRICT, PERMISSIVE, DISABLE or UNSET");
      return Authz.MtlsMode.UNSET;
    }
  }
}
