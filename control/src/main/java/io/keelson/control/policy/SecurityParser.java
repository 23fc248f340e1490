package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's {@code AuthorizationPolicy} and {@code PeerAuthentication} ({@code security.istio.io/v1},
 * {@code v1beta1}). What Keelson cannot enforce is rejected by name (CUSTOM and AUDIT actions, JWT
 * request principals and request.auth conditions, targetRefs), never silently dropped. Stateless.
 */
final class SecurityParser {
  private static final Pattern CONDITION_KEY = Pattern.compile(
      "request\\.headers\\[[^\\]]+\\]|source\\.ip|remote\\.ip|source\\.namespace|source\\.principal"
          + "|destination\\.ip|destination\\.port|connection\\.sni");
  private static final Pattern CIDR = Pattern.compile("[0-9a-fA-F:.]+(/\\d{1,3})?");

  private SecurityParser() {}

  static Policy authorizationPolicy(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("selector", "action", "rules"), Map.of(
        "targetRef", "targetRef (Gateway API attachment) is not supported; use selector",
        "targetRefs", "targetRefs (Gateway API attachment) is not supported; use selector",
        "provider", "CUSTOM authorization providers are not supported"));
    Map<String, String> selector = selector(spec);
    String a = spec.string("action", false);
    Authz.Action action = Authz.Action.ALLOW;
    if (a != null) {
      switch (a) {
        case "ALLOW" -> action = Authz.Action.ALLOW;
        case "DENY" -> action = Authz.Action.DENY;
        case "AUDIT", "CUSTOM" -> spec.error("action", a + " is not supported; expected ALLOW or DENY");
        default -> spec.error("action", "'" + a + "' is not an action; expected ALLOW or DENY");
      }
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
        if (key != null && key.startsWith("request.auth.")) {
          w.error("key", "'" + key + "' needs JWT authentication (RequestAuthentication), which is not supported yet");
        } else if (key != null && !CONDITION_KEY.matcher(key).matches()) {
          w.error("key", "'" + key + "' is not supported; expected request.headers[NAME], source.ip, remote.ip,"
              + " source.namespace, source.principal, destination.ip, destination.port or connection.sni");
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
    return new Policy.AuthorizationPolicy(meta, namespace, selector, action, List.copyOf(rules));
  }

  private static Authz.Source source(Fields s) {
    s.allow(Set.of("principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
        "remoteIpBlocks", "notRemoteIpBlocks"), Map.of(
        "requestPrincipals", "JWT request principals need RequestAuthentication, which is not supported yet",
        "notRequestPrincipals", "JWT request principals need RequestAuthentication, which is not supported yet",
        "serviceAccounts", "serviceAccounts is not supported; use principals (<trust-domain>/ns/<ns>/sa/<sa>)",
        "notServiceAccounts", "notServiceAccounts is not supported; use notPrincipals"));
    Authz.Source src = new Authz.Source(s.strings("principals", false), s.strings("notPrincipals", false),
        s.strings("namespaces", false), s.strings("notNamespaces", false), s.strings("ipBlocks", false),
        s.strings("notIpBlocks", false), s.strings("remoteIpBlocks", false), s.strings("notRemoteIpBlocks", false));
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

  private static void checkCidrs(Fields f, String field, List<String> values) {
    for (String v : values) {
      if (!CIDR.matcher(v).matches()) {
        f.error(field, "'" + v + "' is not an IP address or CIDR block; expected e.g. 10.0.0.0/8");
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
