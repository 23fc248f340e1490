package io.keelson.dataplane.rbac;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.route.ValueMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles {@code envoy.config.rbac.v3.RBAC} into an {@link RbacEngine}. Every problem is reported
 * with its field path (e.g. {@code rules.policies["ns[foo]"].permissions[0].and_rules.rules[1].filter_state:
 * not supported ...}) and the whole config is rejected: a security filter never half-applies.
 * Supported: and/or/not, any, header, url_path, destination_port(_range), destination_ip,
 * requested_server_name, metadata; principals and/or/not, any, authenticated, source_ip, direct_remote_ip,
 * remote_ip, header, url_path, metadata (string, bool, present and list one_of value matchers, on the
 * request's dynamic metadata, e.g. a verified JWT). Not supported (rejected by name): filter_state, matcher,
 * uri_template, sourced_metadata, custom principals, policy conditions (CEL). Stateless.
 */
public final class RbacTranslator {
  private final List<String> problems = new ArrayList<>();

  private RbacTranslator() {}

  public static RbacEngine compile(RBAC rbac, String path) throws ConfigException {
    RbacTranslator t = new RbacTranslator();
    RbacEngine e = t.engine(rbac, path);
    if (!t.problems.isEmpty()) {
      throw new ConfigException(t.problems);
    }
    return e;
  }

  private RbacEngine engine(RBAC rbac, String path) {
    RbacEngine.Action action = switch (rbac.getAction()) {
      case ALLOW -> RbacEngine.Action.ALLOW;
      case DENY -> RbacEngine.Action.DENY;
      case LOG -> RbacEngine.Action.LOG;
      default -> {
        error(path + ".action", "expected ALLOW, DENY or LOG");
        yield RbacEngine.Action.DENY;
      }
    };
    if (rbac.hasAuditLoggingOptions()) {
      error(path + ".audit_logging_options", "not supported; remove it");
    }
    List<RbacEngine.Policy> out = new ArrayList<>();
    for (var e : new TreeMap<>(rbac.getPoliciesMap()).entrySet()) {
      String p = path + ".policies[\"" + e.getKey() + "\"]";
      Policy policy = e.getValue();
      if (policy.hasCondition() || policy.hasCheckedCondition()) {
        error(p + (policy.hasCondition() ? ".condition" : ".checked_condition"),
            "CEL conditions are not supported; express the rule with permissions and principals");
      }
      if (policy.getPermissionsCount() == 0) {
        error(p + ".permissions", "at least one permission is required");
      }
      if (policy.getPrincipalsCount() == 0) {
        error(p + ".principals", "at least one principal is required");
      }
      List<Matcher> perms = new ArrayList<>();
      for (int i = 0; i < policy.getPermissionsCount(); i++) {
        perms.add(permission(policy.getPermissions(i), p + ".permissions[" + i + "]"));
      }
      List<Matcher> ids = new ArrayList<>();
      for (int i = 0; i < policy.getPrincipalsCount(); i++) {
        ids.add(principal(policy.getPrincipals(i), p + ".principals[" + i + "]"));
      }
      out.add(new RbacEngine.Policy(e.getKey(), or(perms), or(ids), RbacEngine.onMatch(action, e.getKey())));
    }
    return new RbacEngine(action, out);
  }

  private static Matcher or(List<Matcher> ms) {
    return ms.size() == 1 ? ms.getFirst() : new Matcher.Or(ms);
  }

  private Matcher permission(Permission p, String path) {
    return switch (p.getRuleCase()) {
      case ANY -> {
        if (!p.getAny()) {
          error(path + ".any", "must be true when set");
        }
        yield Matcher.ANY;
      }
      case AND_RULES -> {
        List<Matcher> all = new ArrayList<>();
        for (int i = 0; i < p.getAndRules().getRulesCount(); i++) {
          all.add(permission(p.getAndRules().getRules(i), path + ".and_rules.rules[" + i + "]"));
        }
        yield new Matcher.And(all);
      }
      case OR_RULES -> {
        List<Matcher> any = new ArrayList<>();
        for (int i = 0; i < p.getOrRules().getRulesCount(); i++) {
          any.add(permission(p.getOrRules().getRules(i), path + ".or_rules.rules[" + i + "]"));
        }
        yield new Matcher.Or(any);
      }
      case NOT_RULE -> new Matcher.Not(permission(p.getNotRule(), path + ".not_rule"));
      case HEADER -> header(p.getHeader(), path + ".header");
      case URL_PATH -> urlPath(p.getUrlPath(), path + ".url_path");
      case DESTINATION_PORT -> {
        if (p.getDestinationPort() > 65535) {
          error(path + ".destination_port", p.getDestinationPort() + " is not a port; expected 0-65535");
        }
        yield new Matcher.DestinationPort(p.getDestinationPort());
      }
      case DESTINATION_PORT_RANGE -> new Matcher.DestinationPortRange((int) p.getDestinationPortRange().getStart(),
          (int) p.getDestinationPortRange().getEnd());
      case DESTINATION_IP -> cidr(Matcher.IpSource.DESTINATION, p.getDestinationIp(), path + ".destination_ip");
      case REQUESTED_SERVER_NAME -> new Matcher.RequestedServerName(
          string(p.getRequestedServerName(), path + ".requested_server_name"));
      case METADATA -> metadata(p.getMetadata(), path + ".metadata");
      case RULE_NOT_SET -> {
        error(path, "a rule is required; expected one of any, and_rules, or_rules, not_rule, header, url_path,"
            + " destination_port, destination_port_range, destination_ip, requested_server_name");
        yield Matcher.ANY;
      }
      default -> unsupported(path + "." + p.getRuleCase().name().toLowerCase(Locale.ROOT));
    };
  }

  private Matcher principal(Principal p, String path) {
    return switch (p.getIdentifierCase()) {
      case ANY -> {
        if (!p.getAny()) {
          error(path + ".any", "must be true when set");
        }
        yield Matcher.ANY;
      }
      case AND_IDS -> {
        List<Matcher> all = new ArrayList<>();
        for (int i = 0; i < p.getAndIds().getIdsCount(); i++) {
          all.add(principal(p.getAndIds().getIds(i), path + ".and_ids.ids[" + i + "]"));
        }
        yield new Matcher.And(all);
      }
      case OR_IDS -> {
        List<Matcher> any = new ArrayList<>();
        for (int i = 0; i < p.getOrIds().getIdsCount(); i++) {
          any.add(principal(p.getOrIds().getIds(i), path + ".or_ids.ids[" + i + "]"));
        }
        yield new Matcher.Or(any);
      }
      case NOT_ID -> new Matcher.Not(principal(p.getNotId(), path + ".not_id"));
      case AUTHENTICATED -> new Matcher.Authenticated(p.getAuthenticated().hasPrincipalName()
          ? string(p.getAuthenticated().getPrincipalName(), path + ".authenticated.principal_name") : null);
      case SOURCE_IP -> cidr(Matcher.IpSource.SOURCE, p.getSourceIp(), path + ".source_ip");
      case DIRECT_REMOTE_IP -> cidr(Matcher.IpSource.DIRECT_REMOTE, p.getDirectRemoteIp(), path + ".direct_remote_ip");
      case REMOTE_IP -> cidr(Matcher.IpSource.REMOTE, p.getRemoteIp(), path + ".remote_ip");
      case HEADER -> header(p.getHeader(), path + ".header");
      case URL_PATH -> urlPath(p.getUrlPath(), path + ".url_path");
      case METADATA -> metadata(p.getMetadata(), path + ".metadata");
      case IDENTIFIER_NOT_SET -> {
        error(path, "an identifier is required; expected one of any, and_ids, or_ids, not_id, authenticated,"
            + " source_ip, direct_remote_ip, remote_ip, header, url_path");
        yield Matcher.ANY;
      }
      default -> unsupported(path + "." + p.getIdentifierCase().name().toLowerCase(Locale.ROOT));
    };
  }

  /** Envoy's MetadataMatcher (a verified JWT: {@code istio_authn} / {@code envoy.filters.http.jwt_authn}). */
  private Matcher metadata(io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher m, String path) {
    if (m.getFilter().isEmpty()) {
      error(path + ".filter", "a filter namespace is required, e.g. envoy.filters.http.jwt_authn or istio_authn");
    }
    if (m.getPathCount() == 0) {
      error(path + ".path", "at least one key is required");
    }
    String[] keys = new String[m.getPathCount()];
    for (int i = 0; i < keys.length; i++) {
      if (!m.getPath(i).hasKey()) {
        error(path + ".path[" + i + "]", "a key is required");
      }
      keys[i] = m.getPath(i).getKey();
    }
    if (!m.hasValue()) {
      error(path + ".value", "a value matcher is required");
      return Matcher.ANY;
    }
    return new Matcher.Metadata(m.getFilter(), keys, metaValue(m.getValue(), path + ".value", true), m.getInvert());
  }

  private Matcher.MetaValue metaValue(io.envoyproxy.envoy.type.matcher.v3.ValueMatcher v, String path, boolean listOk) {
    return switch (v.getMatchPatternCase()) {
      case STRING_MATCH -> new Matcher.StringValue(string(v.getStringMatch(), path + ".string_match"));
      case BOOL_MATCH -> new Matcher.BoolValue(v.getBoolMatch());
      case PRESENT_MATCH -> new Matcher.Present(v.getPresentMatch());
      case LIST_MATCH -> {
        if (!listOk || !v.getListMatch().hasOneOf()) {
          error(path + ".list_match", listOk ? "one_of is required" : "nested list matches are not supported");
          yield new Matcher.Present(true);
        }
        yield new Matcher.OneOf(metaValue(v.getListMatch().getOneOf(), path + ".list_match.one_of", false));
      }
      default -> {
        error(path, "expected one of string_match, bool_match, present_match, list_match (one_of)");
        yield new Matcher.Present(true);
      }
    };
  }

  private Matcher unsupported(String path) {
    error(path, "not supported by Keelson's RBAC");
    return Matcher.ANY;
  }

  private Matcher urlPath(io.envoyproxy.envoy.type.matcher.v3.PathMatcher m, String path) {
    if (!m.hasPath()) {
      error(path + ".path", "a string matcher is required");
      return Matcher.ANY;
    }
    return new Matcher.UrlPath(string(m.getPath(), path + ".path"));
  }

  private Matcher cidr(Matcher.IpSource source, io.envoyproxy.envoy.config.core.v3.CidrRange c, String path) {
    try {
      return new Matcher.Cidr(source, CidrRange.of(c.getAddressPrefix(), c.hasPrefixLen() ? c.getPrefixLen().getValue() : -1));
    } catch (IllegalArgumentException e) {
      error(path, e.getMessage() + "; expected address_prefix like 10.0.0.0 with prefix_len 0-32 (0-128 for IPv6)");
      return Matcher.ANY;
    }
  }

  private Matcher header(HeaderMatcher h, String path) {
    String name = h.getName().toLowerCase(Locale.ROOT);
    if (name.isEmpty()) {
      error(path + ".name", "a header name is required");
    }
    boolean inv = h.getInvertMatch();
    boolean empty = h.getTreatMissingHeaderAsEmpty();
    return switch (h.getHeaderMatchSpecifierCase()) {
      case EXACT_MATCH -> new Matcher.Header(name, ValueMatch.exact(h.getExactMatch(), false), true, inv, empty);
      case PREFIX_MATCH -> new Matcher.Header(name, ValueMatch.prefix(h.getPrefixMatch(), false), true, inv, empty);
      case SUFFIX_MATCH -> new Matcher.Header(name, ValueMatch.suffix(h.getSuffixMatch(), false), true, inv, empty);
      case CONTAINS_MATCH -> new Matcher.Header(name, ValueMatch.contains(h.getContainsMatch(), false), true, inv, empty);
      case SAFE_REGEX_MATCH -> new Matcher.Header(name, regex(h.getSafeRegexMatch().getRegex(),
          path + ".safe_regex_match.regex"), true, inv, empty);
      case STRING_MATCH -> new Matcher.Header(name, string(h.getStringMatch(), path + ".string_match"), true, inv, empty);
      case PRESENT_MATCH -> new Matcher.Header(name, null, h.getPresentMatch(), inv, false);
      case RANGE_MATCH -> new Matcher.HeaderRange(name, h.getRangeMatch().getStart(), h.getRangeMatch().getEnd(), inv);
      // Envoy: no specifier = the header must be present.
      case HEADERMATCHSPECIFIER_NOT_SET -> new Matcher.Header(name, null, true, inv, false);
    };
  }

  private ValueMatch string(StringMatcher m, String path) {
    boolean ic = m.getIgnoreCase();
    return switch (m.getMatchPatternCase()) {
      case EXACT -> ValueMatch.exact(m.getExact(), ic);
      case PREFIX -> ValueMatch.prefix(m.getPrefix(), ic);
      case SUFFIX -> ValueMatch.suffix(m.getSuffix(), ic);
      case CONTAINS -> ValueMatch.contains(m.getContains(), ic);
      case SAFE_REGEX -> regex(m.getSafeRegex().getRegex(), path + ".safe_regex.regex");
      default -> {
        error(path, "expected one of exact, prefix, suffix, contains, safe_regex");
        yield ValueMatch.exact("", false);
      }
    };
  }

  private ValueMatch regex(String regex, String path) {
    try {
      return ValueMatch.regex(Pattern.compile(regex));
    } catch (PatternSyntaxException e) {
      error(path, "'" + regex + "' is not a valid regex: " + e.getDescription());
      return ValueMatch.exact("", false);
    }
  }

  private void error(String path, String message) {
    problems.add(path + ": " + message);
  }
}
