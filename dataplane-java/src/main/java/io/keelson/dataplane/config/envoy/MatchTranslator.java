package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.MetadataMatch;
import io.keelson.dataplane.route.PathMatch;
import io.keelson.dataplane.route.QueryMatch;
import io.keelson.dataplane.route.RequestMatcher;
import io.keelson.dataplane.route.ValueMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Compiles an Envoy RouteMatch (path, headers, query parameters, dynamic metadata) into a {@link RequestMatcher}. Used
 * by one thread.
 */
public final class MatchTranslator {
  private final io.keelson.dataplane.filter.ConfigErrors problems;

  MatchTranslator(io.keelson.dataplane.filter.ConfigErrors problems) {
    this.problems = problems;
  }

  /** One HeaderMatcher at {@code path}, as a route reads it (for filters that match headers), or null after reporting. */
  public static HeaderMatch headerMatch(HeaderMatcher h, String path, io.keelson.dataplane.filter.ConfigErrors errors) {
    return new MatchTranslator(errors).header(h, path);
  }

  /** The compiled matcher, or null after reporting why it cannot be built. */
  RequestMatcher translate(RouteMatch m, String path, boolean present) {
    if (!present) {
      problems.error(path, "a match is required");
      return null;
    }
    boolean caseSensitive = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
    PathMatch pathMatch =
        switch (m.getPathSpecifierCase()) {
          case PREFIX -> PathMatch.prefix(m.getPrefix(), caseSensitive);
          case PATH -> PathMatch.exact(m.getPath(), caseSensitive);
          case PATH_SEPARATED_PREFIX -> {
            String prefix = m.getPathSeparatedPrefix();
            if (!prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("?") || prefix.contains("#")) {
              problems.error(path + ".path_separated_prefix", "'" + prefix
                  + "' is not valid; expected a path that starts with '/', does not end with '/' and has no '?' or '#'");
              yield null;
            }
            yield PathMatch.separatedPrefix(prefix, caseSensitive);
          }
          case SAFE_REGEX -> {
            Pattern p = Re2Regex.compile(m.getSafeRegex().getRegex(), path + ".safe_regex.regex", problems);
            yield p == null ? null : PathMatch.regex(p);
          }
          case CONNECT_MATCHER -> PathMatch.connect(); // CONNECT requests only (route/CompiledRoutes keeps them apart)
          case PATHSPECIFIER_NOT_SET -> {
            problems.error(path, "a path match is required; expected one of prefix, path, safe_regex, path_separated_prefix, connect_matcher");
            yield null;
          }
          default -> null; // unsupported kind: reported by SupportedFields
        };
    List<HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < m.getHeadersCount(); i++) {
      HeaderMatch h = header(m.getHeaders(i), path + ".headers[" + i + "]");
      if (h != null) {
        headers.add(h);
      }
    }
    if (m.hasGrpc()) {
      headers.add(HeaderMatch.grpc()); // counted apart from m.getHeadersCount() below
    }
    List<QueryMatch> queries = new ArrayList<>();
    for (int i = 0; i < m.getQueryParametersCount(); i++) {
      QueryMatch q = query(m.getQueryParameters(i), path + ".query_parameters[" + i + "]");
      if (q != null) {
        queries.add(q);
      }
    }
    List<MetadataMatch> metadata = new ArrayList<>();
    for (int i = 0; i < m.getDynamicMetadataCount(); i++) {
      MetadataMatch d = metadata(m.getDynamicMetadata(i), path + ".dynamic_metadata[" + i + "]");
      if (d != null) {
        metadata.add(d);
      }
    }
    if (pathMatch == null || headers.size() != m.getHeadersCount() + (m.hasGrpc() ? 1 : 0) || queries.size() != m.getQueryParametersCount()
        || metadata.size() != m.getDynamicMetadataCount()) {
      return null;
    }
    return new RequestMatcher(pathMatch, headers, queries, metadata);
  }

  HeaderMatch header(HeaderMatcher h, String path) {
    String name = h.getName();
    if (name.isEmpty()) {
      problems.error(path + ".name", "a header name is required");
      return null;
    }
    if (!HeaderMatch.isSupportedName(name)) {
      problems.error(path + ".name", "pseudo-header '" + name
          + "' is not supported; expected a header name or one of :method, :authority, :path, :scheme");
      return null;
    }
    boolean invert = h.getInvertMatch();
    boolean missingAsEmpty = h.getTreatMissingHeaderAsEmpty();
    switch (h.getHeaderMatchSpecifierCase()) {
      case PRESENT_MATCH -> {
        return HeaderMatch.presence(name, h.getPresentMatch(), invert);
      }
      // Envoy: no specifier means "the header is present".
      case HEADERMATCHSPECIFIER_NOT_SET -> {
        return HeaderMatch.presence(name, true, invert);
      }
      default -> {}
    }
    ValueMatch value =
        switch (h.getHeaderMatchSpecifierCase()) {
          case EXACT_MATCH -> ValueMatch.exact(h.getExactMatch(), false);
          case PREFIX_MATCH -> ValueMatch.prefix(h.getPrefixMatch(), false);
          case SUFFIX_MATCH -> ValueMatch.suffix(h.getSuffixMatch(), false);
          case CONTAINS_MATCH -> ValueMatch.contains(h.getContainsMatch(), false);
          case SAFE_REGEX_MATCH -> {
            Pattern p = Re2Regex.compile(h.getSafeRegexMatch().getRegex(), path + ".safe_regex_match.regex", problems);
            yield p == null ? null : ValueMatch.regex(p);
          }
          case STRING_MATCH -> string(h.getStringMatch(), path + ".string_match");
          default -> null; // range_match: reported by SupportedFields
        };
    return value == null ? null : HeaderMatch.value(name, value, invert, missingAsEmpty);
  }

  /**
   * Envoy's MetadataMatcher on the request's dynamic metadata (a route chosen again after jwt_authn's
   * {@code clear_route_cache} reads the verified token's claims), or null after reporting what is wrong.
   */
  private MetadataMatch metadata(MetadataMatcher m, String path) {
    boolean ok = true;
    if (m.getFilter().isEmpty()) {
      problems.error(path + ".filter", "a filter namespace is required, e.g. istio_authn or envoy.filters.http.jwt_authn");
      ok = false;
    }
    if (m.getPathCount() == 0) {
      problems.error(path + ".path", "at least one key is required");
      ok = false;
    }
    String[] keys = new String[m.getPathCount()];
    for (int i = 0; i < keys.length; i++) {
      if (!m.getPath(i).hasKey() || m.getPath(i).getKey().isEmpty()) {
        problems.error(path + ".path[" + i + "].key", "a key is required");
        ok = false;
      }
      keys[i] = m.getPath(i).getKey();
    }
    if (!m.hasValue()) {
      problems.error(path + ".value", "a value matcher is required");
      return null;
    }
    MetadataMatch.Value value = metadataValue(m.getValue(), path + ".value", true);
    return ok && value != null ? new MetadataMatch(m.getFilter(), keys, value, m.getInvert()) : null;
  }

  private MetadataMatch.Value metadataValue(ValueMatcher v, String path, boolean listOk) {
    return switch (v.getMatchPatternCase()) {
      case STRING_MATCH -> {
        ValueMatch s = string(v.getStringMatch(), path + ".string_match");
        yield s == null ? null : new MetadataMatch.StringValue(s);
      }
      case BOOL_MATCH -> new MetadataMatch.BoolValue(v.getBoolMatch());
      case PRESENT_MATCH -> new MetadataMatch.Present(v.getPresentMatch());
      case LIST_MATCH -> {
        if (!listOk) {
          problems.error(path + ".list_match", "a list match inside a list match is not supported");
          yield null;
        }
        if (!v.getListMatch().hasOneOf()) {
          problems.error(path + ".list_match.one_of", "one_of is required");
          yield null;
        }
        MetadataMatch.Value element = metadataValue(v.getListMatch().getOneOf(), path + ".list_match.one_of", false);
        yield element == null ? null : new MetadataMatch.OneOf(element);
      }
      default -> {
        problems.error(path, (v.getMatchPatternCase() == ValueMatcher.MatchPatternCase.MATCHPATTERN_NOT_SET ? "a match is required"
            : v.getMatchPatternCase().name().toLowerCase(java.util.Locale.ROOT) + " is not supported")
            + "; expected one of string_match, bool_match, present_match, list_match (one_of)");
        yield null;
      }
    };
  }

  QueryMatch query(QueryParameterMatcher q, String path) {
    if (q.getName().isEmpty()) {
      problems.error(path + ".name", "a query parameter name is required");
      return null;
    }
    return switch (q.getQueryParameterMatchSpecifierCase()) {
      case STRING_MATCH -> {
        ValueMatch v = string(q.getStringMatch(), path + ".string_match");
        yield v == null ? null : QueryMatch.value(q.getName(), v);
      }
      case PRESENT_MATCH -> {
        if (!q.getPresentMatch()) {
          problems.error(path + ".present_match", "false is not supported; expected true (Envoy requires true)");
          yield null;
        }
        yield QueryMatch.present(q.getName());
      }
      default -> QueryMatch.present(q.getName());
    };
  }

  private ValueMatch string(StringMatcher s, String path) {
    return stringMatcher(s, path, problems);
  }

  /**
   * Envoy's StringMatcher as a {@link ValueMatch} (ignore_case has no effect on safe_regex, as in Envoy). Null after
   * reporting a missing pattern or a regex RE2 would refuse; null for {@code custom}, which {@link SupportedFields}
   * reports. Routes' header and query matchers and the CORS filter's allowed origins use it.
   */
  public static ValueMatch stringMatcher(StringMatcher s, String path, io.keelson.dataplane.filter.ConfigErrors errors) {
    boolean ignoreCase = s.getIgnoreCase();
    return switch (s.getMatchPatternCase()) {
      case EXACT -> ValueMatch.exact(s.getExact(), ignoreCase);
      case PREFIX -> ValueMatch.prefix(s.getPrefix(), ignoreCase);
      case SUFFIX -> ValueMatch.suffix(s.getSuffix(), ignoreCase);
      case CONTAINS -> ValueMatch.contains(s.getContains(), ignoreCase);
      case SAFE_REGEX -> {
        Pattern p = Re2Regex.compile(s.getSafeRegex().getRegex(), path + ".safe_regex.regex", errors);
        yield p == null ? null : ValueMatch.regex(p);
      }
      case MATCHPATTERN_NOT_SET -> {
        errors.error(path, "a match pattern is required; expected one of exact, prefix, suffix, contains, safe_regex");
        yield null;
      }
      default -> null; // custom: reported by SupportedFields
    };
  }
}
