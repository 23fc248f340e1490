package io.keelson.control.security;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Istio {@code AuthorizationPolicy} → Envoy RBAC for one workload, following Istio's translation:
 * each rule becomes one RBAC policy named {@code ns[NS]-policy[NAME]-rule[I]}; {@code from} sources
 * become principals (OR of sources, AND of fields, OR of values), {@code to} operations become
 * permissions, {@code when} conditions are AND-ed onto either side. Principals are matched against
 * the peer's SPIFFE URI ({@code cluster.local/ns/a/sa/b} → {@code spiffe://cluster.local/ns/a/sa/b});
 * values use Istio's wildcards ({@code *}, {@code prefix*}, {@code *suffix}). For TCP, ALLOW rules
 * that use HTTP-only fields are dropped and DENY rules lose their HTTP-only fields (stricter, as Istio).
 * Stateless.
 */
public final class AuthorizationTranslator {
  /** Istio's default root namespace: policies there without a selector apply to the whole mesh. */
  public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

  private final String rootNamespace;
  private final boolean tcp;

  private AuthorizationTranslator(String rootNamespace, boolean tcp) {
    this.rootNamespace = rootNamespace;
    this.tcp = tcp;
  }

  /** The HTTP RBAC of the workload {@code namespace}/{@code labels}. */
  public static WorkloadAuthorization http(String namespace, Map<String, String> labels,
      Collection<AuthorizationPolicy> all, String rootNamespace) {
    return new AuthorizationTranslator(rootNamespace, false).translate(namespace, labels, all);
  }

  /** The same for a TCP port ({@code envoy.filters.network.rbac}). */
  public static WorkloadAuthorization tcp(String namespace, Map<String, String> labels,
      Collection<AuthorizationPolicy> all, String rootNamespace) {
    return new AuthorizationTranslator(rootNamespace, true).translate(namespace, labels, all);
  }

  /** True when {@code p} applies to the workload. */
  public static boolean selects(AuthorizationPolicy p, String namespace, Map<String, String> labels,
      String rootNamespace) {
    boolean ns = p.namespace().equals(namespace) || p.namespace().equals(rootNamespace);
    return ns && WorkloadSelector.labelsMatch(p.selector(), labels);
  }

  private WorkloadAuthorization translate(String namespace, Map<String, String> labels,
      Collection<AuthorizationPolicy> all) {
    RBAC.Builder deny = null;
    RBAC.Builder allow = null;
    List<AuthorizationPolicy> sorted = new ArrayList<>(all);
    sorted.sort(Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name));
    for (AuthorizationPolicy p : sorted) {
      if (p.action() == Authz.Action.CUSTOM || !selects(p, namespace, labels, rootNamespace)) {
        continue; // CUSTOM policies are the external authorizer's (ExtAuthzTranslator), never ALLOW rules
      }
      RBAC.Builder target;
      if (p.action() == Authz.Action.DENY) {
        target = deny = deny == null ? RBAC.newBuilder().setAction(RBAC.Action.DENY) : deny;
      } else {
        target = allow = allow == null ? RBAC.newBuilder().setAction(RBAC.Action.ALLOW) : allow;
      }
      for (int i = 0; i < p.rules().size(); i++) {
        Authz.Rule r = p.rules().get(i);
        if (tcp && p.action() == Authz.Action.ALLOW && usesHttp(r)) {
          continue; // cannot match a TCP connection
        }
        target.putPolicies("ns[" + p.namespace() + "]-policy[" + p.name() + "]-rule[" + i + "]", policy(r));
      }
    }
    return new WorkloadAuthorization(deny == null ? null : deny.build(), allow == null ? null : allow.build());
  }

  /**
   * The CUSTOM policies selecting the HTTP workload {@code namespace}/{@code labels} as istiod's shadow rules: one
   * policy per rule named {@code istio-ext-authz-ns[NS]-policy[NAME]-rule[I]} (action DENY, so the shadow result names
   * the first matching rule), or null when none selects it. Their providers are added to {@code providers}. With
   * {@code tcp}, the rules as a TCP workload's (HTTP-only conditions dropped, as for DENY: the rule matches more).
   */
  static RBAC customRules(String namespace, Map<String, String> labels, Collection<AuthorizationPolicy> all,
      String rootNamespace, java.util.Set<String> providers) {
    return customRules(namespace, labels, all, rootNamespace, providers, false);
  }

  /** {@link #customRules} as an HTTP ({@code tcp} false) or a TCP workload's rules. */
  static RBAC customRules(String namespace, Map<String, String> labels, Collection<AuthorizationPolicy> all,
      String rootNamespace, java.util.Set<String> providers, boolean tcp) {
    AuthorizationTranslator t = new AuthorizationTranslator(rootNamespace, tcp);
    RBAC.Builder shadow = null;
    List<AuthorizationPolicy> sorted = new ArrayList<>(all);
    sorted.sort(Comparator.comparing(AuthorizationPolicy::namespace).thenComparing(AuthorizationPolicy::name));
    for (AuthorizationPolicy p : sorted) {
      if (p.action() != Authz.Action.CUSTOM || !selects(p, namespace, labels, rootNamespace)) {
        continue;
      }
      shadow = shadow == null ? RBAC.newBuilder().setAction(RBAC.Action.DENY) : shadow;
      providers.add(p.provider());
      for (int i = 0; i < p.rules().size(); i++) {
        shadow.putPolicies(ExtAuthzTranslator.POLICY_PREFIX + "-ns[" + p.namespace() + "]-policy[" + p.name()
            + "]-rule[" + i + "]", t.policy(p.rules().get(i)));
      }
    }
    return shadow == null ? null : shadow.build();
  }

  private static boolean usesHttp(Authz.Rule r) {
    return r.to().stream().anyMatch(Authz.Operation::usesHttpFields)
        || r.when().stream().anyMatch(Authz.Condition::usesHttpFields)
        || r.from().stream().anyMatch(Authz.Source::usesHttpFields);
  }

  private Policy policy(Authz.Rule r) {
    List<Permission> perms = new ArrayList<>();
    List<Principal> ids = new ArrayList<>();
    if (!r.to().isEmpty()) {
      List<Permission> ops = new ArrayList<>();
      r.to().forEach(o -> ops.add(operation(o)));
      perms.add(orP(ops));
    }
    if (!r.from().isEmpty()) {
      List<Principal> sources = new ArrayList<>();
      r.from().forEach(s -> sources.add(source(s)));
      ids.add(orI(sources));
    }
    for (Authz.Condition c : r.when()) {
      if (tcp && c.usesHttpFields()) {
        continue;
      }
      condition(c, perms, ids);
    }
    return Policy.newBuilder().addPermissions(andP(perms)).addPrincipals(andI(ids)).build();
  }

  private Permission operation(Authz.Operation o) {
    List<Permission> all = new ArrayList<>();
    if (!tcp) {
      field(all, o.hosts(), o.notHosts(), v -> header(":authority", string(v, true)));
      field(all, o.methods(), o.notMethods(), v -> header(":method", StringMatcher.newBuilder().setExact(v).build()));
      field(all, o.paths(), o.notPaths(), v -> v.equals("*") ? Permission.newBuilder().setAny(true).build()
          : Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(string(v, false))).build());
    }
    field(all, o.ports(), o.notPorts(), v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build());
    return andP(all);
  }

  private static void field(List<Permission> out, List<String> values, List<String> notValues,
      Function<String, Permission> one) {
    if (!values.isEmpty()) {
      out.add(orP(values.stream().map(one).toList()));
    }
    if (!notValues.isEmpty()) {
      out.add(Permission.newBuilder().setNotRule(orP(notValues.stream().map(one).toList())).build());
    }
  }

  private static void fieldI(List<Principal> out, List<String> values, List<String> notValues,
      Function<String, Principal> one) {
    if (!values.isEmpty()) {
      out.add(orI(values.stream().map(one).toList()));
    }
    if (!notValues.isEmpty()) {
      out.add(Principal.newBuilder().setNotId(orI(notValues.stream().map(one).toList())).build());
    }
  }

  private Principal source(Authz.Source s) {
    List<Principal> all = new ArrayList<>();
    fieldI(all, s.principals(), s.notPrincipals(), AuthorizationTranslator::principal);
    fieldI(all, s.namespaces(), s.notNamespaces(), AuthorizationTranslator::namespace);
    fieldI(all, s.ipBlocks(), s.notIpBlocks(), v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
    fieldI(all, s.remoteIpBlocks(), s.notRemoteIpBlocks(), v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
    if (!tcp) {
      fieldI(all, s.requestPrincipals(), s.notRequestPrincipals(), v -> JwtPrincipals.requestPrincipal(v));
    }
    return andI(all);
  }

  private void condition(Authz.Condition c, List<Permission> perms, List<Principal> ids) {
    String key = c.key();
    if (key.startsWith("request.headers[")) {
      String name = key.substring("request.headers[".length(), key.length() - 1);
      field(perms, c.values(), c.notValues(), v -> header(name, string(v, false)));
      return;
    }
    switch (key) {
      case "source.ip" -> fieldI(ids, c.values(), c.notValues(),
          v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
      case "remote.ip" -> fieldI(ids, c.values(), c.notValues(), v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
      case "source.namespace" -> fieldI(ids, c.values(), c.notValues(), AuthorizationTranslator::namespace);
      case "source.principal" -> fieldI(ids, c.values(), c.notValues(), AuthorizationTranslator::principal);
      case "destination.ip" -> field(perms, c.values(), c.notValues(),
          v -> Permission.newBuilder().setDestinationIp(cidr(v)).build());
      case "destination.port" -> field(perms, c.values(), c.notValues(),
          v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build());
      case "connection.sni" -> field(perms, c.values(), c.notValues(),
          v -> Permission.newBuilder().setRequestedServerName(string(v, false)).build());
      case "request.auth.principal", "request.auth.audiences", "request.auth.presenter" ->
          fieldI(ids, c.values(), c.notValues(), v -> JwtPrincipals.attribute(key, v));
      case String k when k.startsWith("request.auth.claims[") ->
          fieldI(ids, c.values(), c.notValues(), v -> JwtPrincipals.claim(k, v));
      default -> throw new IllegalArgumentException("condition key " + key + " passed validation but is not translated");
    }
  }

  /** {@code cluster.local/ns/a/sa/b} against the peer's SPIFFE URI, with Istio's wildcards. */
  static Principal principal(String v) {
    StringMatcher m;
    if (v.equals("*")) {
      m = StringMatcher.newBuilder().setPrefix("spiffe://").build();
    } else if (v.startsWith("*")) {
      m = StringMatcher.newBuilder().setSuffix(v.substring(1)).build();
    } else if (v.endsWith("*")) {
      m = StringMatcher.newBuilder().setPrefix("spiffe://" + v.substring(0, v.length() - 1)).build();
    } else {
      m = StringMatcher.newBuilder().setExact("spiffe://" + v).build();
    }
    return authenticated(m);
  }

  /** A peer whose SPIFFE ID is in namespace {@code ns} ({@code .* /ns/NS/.*}, as Istio). */
  static Principal namespace(String ns) {
    if (ns.equals("*")) {
      return authenticated(StringMatcher.newBuilder().setPrefix("spiffe://").build());
    }
    String body = ns.startsWith("*") ? "[^/]*" + quote(ns.substring(1))
        : ns.endsWith("*") ? quote(ns.substring(0, ns.length() - 1)) + "[^/]*" : quote(ns);
    return authenticated(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder()
        .setRegex(".*/ns/" + body + "/.*")).build());
  }

  private static String quote(String s) {
    return s.replaceAll("([.\\\\+?()\\[\\]{}|^$*])", "\\\\$1");
  }

  private static Principal authenticated(StringMatcher m) {
    return Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(m)).build();
  }

  private static Permission header(String name, StringMatcher m) {
    return Permission.newBuilder().setHeader(HeaderMatcher.newBuilder().setName(name).setStringMatch(m)).build();
  }

  /** Istio's value wildcards: {@code *} (any, as presence), {@code prefix*}, {@code *suffix}, else exact. */
  private static StringMatcher string(String v, boolean ignoreCase) {
    StringMatcher.Builder b = StringMatcher.newBuilder().setIgnoreCase(ignoreCase);
    if (v.equals("*")) {
      return b.setSafeRegex(RegexMatcher.newBuilder().setRegex(".*")).build();
    }
    if (v.startsWith("*")) {
      return b.setSuffix(v.substring(1)).build();
    }
    if (v.endsWith("*")) {
      return b.setPrefix(v.substring(0, v.length() - 1)).build();
    }
    return b.setExact(v).build();
  }

  /** {@code a.b.c.d[/n]} or an IPv6 address with an optional length as Envoy's CidrRange (no length: the host). */
  public static CidrRange cidr(String v) {
    int slash = v.indexOf('/');
    String addr = slash < 0 ? v : v.substring(0, slash);
    int len = slash < 0 ? (addr.contains(":") ? 128 : 32) : Integer.parseInt(v.substring(slash + 1));
    return CidrRange.newBuilder().setAddressPrefix(addr).setPrefixLen(com.google.protobuf.UInt32Value.of(len)).build();
  }

  private static Permission andP(List<Permission> all) {
    if (all.isEmpty()) {
      return Permission.newBuilder().setAny(true).build();
    }
    return all.size() == 1 ? all.getFirst()
        : Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(all)).build();
  }

  private static Permission orP(List<Permission> any) {
    return any.size() == 1 ? any.getFirst()
        : Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(any)).build();
  }

  private static Principal andI(List<Principal> all) {
    if (all.isEmpty()) {
      return Principal.newBuilder().setAny(true).build();
    }
    return all.size() == 1 ? all.getFirst()
        : Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(all)).build();
  }

  private static Principal orI(List<Principal> any) {
    return any.size() == 1 ? any.getFirst()
        : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(any)).build();
  }
}
