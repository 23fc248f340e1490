package io.keelson.dataplane.filter.jwt;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.route.PathMatch;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code envoy.filters.http.jwt_authn}: translates {@code JwtAuthentication} (providers with issuer,
 * audiences, local or remote JWKS, token locations, forward, forward_payload_header,
 * payload_in_metadata, clock_skew_seconds, require_expiration; rules by path with requires or
 * requirement_name; requirement_map; bypass_cors_preflight) and {@code PerRouteConfig} (disabled) into
 * {@link JwtAuthnFilter}. Fields Keelson does not implement are rejected by SupportedFields; problems
 * found here name their field. The wall clock is injectable for tests. Stateless.
 */
public final class JwtAuthnFactory implements HttpFilterFactory {
  public static final String FILTER_NAME = "envoy.filters.http.jwt_authn";
  static final Duration DEFAULT_CACHE = Duration.ofMinutes(10);
  static final Duration DEFAULT_FETCH_TIMEOUT = Duration.ofSeconds(1);

  private final Clock clock;

  public JwtAuthnFactory() {
    this(Clock.systemUTC());
  }

  /** With the clock {@code exp} and {@code nbf} are checked against (tests). */
  public JwtAuthnFactory(Clock clock) {
    this.clock = clock;
  }

  @Override
  public String filterName() {
    return FILTER_NAME;
  }

  @Override
  public Class<? extends Message> configType() {
    return JwtAuthentication.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return PerRouteConfig.class;
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    PerRouteConfig p = (PerRouteConfig) config;
    if (p.getRequirementSpecifierCase() == PerRouteConfig.RequirementSpecifierCase.REQUIREMENT_NAME) {
      errors.error(path + ".requirement_name", "per-route requirement names are not supported; use rules in the"
          + " filter's config (or disabled: true to skip the filter on this route)");
      return null;
    }
    if (!p.getDisabled()) {
      errors.error(path + ".disabled", "expected disabled: true (or requirement_name)");
      return null;
    }
    return new JwtAuthnConfig.Disabled();
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    JwtAuthentication c = (JwtAuthentication) config;
    Counting e = new Counting(errors);
    Map<String, Integer> index = new HashMap<>();
    List<Provider> providers = new ArrayList<>();
    for (var entry : new TreeMap<>(c.getProvidersMap()).entrySet()) {
      Provider p = provider(entry.getKey(), entry.getValue(), path + ".providers[\"" + entry.getKey() + "\"]", e);
      if (p != null) {
        index.put(entry.getKey(), providers.size());
        providers.add(p);
      }
    }
    Map<String, Requirement> named = new HashMap<>();
    for (var entry : new TreeMap<>(c.getRequirementMapMap()).entrySet()) {
      named.put(entry.getKey(), requirement(entry.getValue(), path + ".requirement_map[\"" + entry.getKey() + "\"]",
          index, e));
    }
    List<JwtAuthnConfig.Rule> rules = new ArrayList<>();
    for (int i = 0; i < c.getRulesCount(); i++) {
      RequirementRule r = c.getRules(i);
      String at = path + ".rules[" + i + "]";
      PathMatch match = match(r.getMatch(), r.hasMatch(), at + ".match", e);
      Requirement req = switch (r.getRequirementTypeCase()) {
        case REQUIRES -> requirement(r.getRequires(), at + ".requires", index, e);
        case REQUIREMENT_NAME -> {
          Requirement n = named.get(r.getRequirementName());
          if (n == null) {
            e.error(at + ".requirement_name", "'" + r.getRequirementName() + "' is not in requirement_map; expected one of "
                + new TreeMap<>(named).keySet());
          }
          yield n;
        }
        default -> null; // no requirement: requests on this path are not checked
      };
      rules.add(new JwtAuthnConfig.Rule(match, req));
    }
    if (c.getRulesCount() == 0 && c.getFilterStateRules().getRequiresCount() == 0) {
      e.warn(path + ".rules", "no rules: the filter checks no request");
    }
    return e.count > 0 ? null : new JwtAuthnConfig(providers.toArray(Provider[]::new), List.copyOf(rules),
        c.getBypassCorsPreflight());
  }

  /** Counts errors so a translation with any is rejected as a whole. */
  private static final class Counting implements ConfigErrors {
    private final ConfigErrors inner;
    int count;

    Counting(ConfigErrors inner) {
      this.inner = inner;
    }

    @Override
    public void error(String path, String message) {
      count++;
      inner.error(path, message);
    }

    @Override
    public void warn(String path, String message) {
      inner.warn(path, message);
    }
  }

  private static Provider provider(String name, JwtProvider p, String path, ConfigErrors e) {
    List<String> audiences = p.getAudiencesList().stream().map(Provider::normalize).toList();
    List<Jwk> local = null;
    RemoteJwks remote = null;
    switch (p.getJwksSourceSpecifierCase()) {
      case LOCAL_JWKS -> {
        var ds = p.getLocalJwks();
        String json = switch (ds.getSpecifierCase()) {
          case INLINE_STRING -> ds.getInlineString();
          case INLINE_BYTES -> ds.getInlineBytes().toString(StandardCharsets.UTF_8);
          case FILENAME -> {
            try {
              yield java.nio.file.Files.readString(java.nio.file.Path.of(ds.getFilename()));
            } catch (java.io.IOException ex) {
              e.error(path + ".local_jwks.filename", "cannot read '" + ds.getFilename() + "': " + ex.getMessage());
              yield null;
            }
          }
          default -> {
            e.error(path + ".local_jwks", "expected inline_string, inline_bytes or filename");
            yield null;
          }
        };
        if (json != null) {
          try {
            local = Jwk.parseSet(json);
          } catch (IllegalArgumentException ex) {
            e.error(path + ".local_jwks", "not a usable JWKS: " + ex.getMessage());
          }
        }
      }
      case REMOTE_JWKS -> {
        var r = p.getRemoteJwks();
        String uri = r.getHttpUri().getUri();
        URI u = null;
        try {
          u = URI.create(uri);
        } catch (IllegalArgumentException ex) {
          // reported below
        }
        if (u == null || u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
          e.error(path + ".remote_jwks.http_uri.uri", "'" + uri + "' is not an http(s) URI");
        } else {
          Duration cache = r.hasCacheDuration() ? Duration.ofSeconds(r.getCacheDuration().getSeconds(),
              r.getCacheDuration().getNanos()) : DEFAULT_CACHE;
          Duration timeout = r.getHttpUri().hasTimeout() ? Duration.ofSeconds(r.getHttpUri().getTimeout().getSeconds(),
              r.getHttpUri().getTimeout().getNanos()) : DEFAULT_FETCH_TIMEOUT;
          if (cache.isZero() || cache.isNegative()) {
            e.error(path + ".remote_jwks.cache_duration", "must be positive");
          } else {
            remote = RemoteJwks.of(u, cache, timeout.isZero() ? DEFAULT_FETCH_TIMEOUT : timeout);
          }
        }
      }
      default -> e.error(path, "one of local_jwks or remote_jwks is required");
    }
    List<Provider.Location> headers = new ArrayList<>();
    for (int i = 0; i < p.getFromHeadersCount(); i++) {
      JwtHeader h = p.getFromHeaders(i);
      if (h.getName().isEmpty()) {
        e.error(path + ".from_headers[" + i + "].name", "a header name is required");
      }
      headers.add(new Provider.Location(h.getName().toLowerCase(Locale.ROOT), h.getValuePrefix()));
    }
    List<String> params = List.copyOf(p.getFromParamsList());
    List<String> cookies = List.copyOf(p.getFromCookiesList());
    for (int i = 0; i < cookies.size(); i++) {
      if (cookies.get(i).isEmpty() || cookies.get(i).contains("=") || cookies.get(i).contains(";")) {
        e.error(path + ".from_cookies[" + i + "]", "'" + cookies.get(i) + "' is not a cookie name");
      }
    }
    List<Provider.ClaimHeader> claimHeaders = new ArrayList<>();
    for (int i = 0; i < p.getClaimToHeadersCount(); i++) {
      var c = p.getClaimToHeaders(i);
      String at = path + ".claim_to_headers[" + i + "]";
      if (!isHeaderName(c.getHeaderName())) {
        e.error(at + ".header_name", "'" + c.getHeaderName() + "' is not a header name");
      } else if (c.getClaimName().isEmpty()) {
        e.error(at + ".claim_name", "a claim name is required");
      } else {
        claimHeaders.add(new Provider.ClaimHeader(c.getHeaderName().toLowerCase(Locale.ROOT), c.getClaimName()));
      }
    }
    if (headers.isEmpty() && params.isEmpty() && cookies.isEmpty()) {
      headers.addAll(Provider.DEFAULT_HEADERS);
      params = Provider.DEFAULT_PARAMS;
    }
    String payloadHeader = p.getForwardPayloadHeader().isEmpty() ? null : p.getForwardPayloadHeader().toLowerCase(Locale.ROOT);
    String inMetadata = p.getPayloadInMetadata().isEmpty() ? null : p.getPayloadInMetadata();
    long skew = p.getClockSkewSeconds() == 0 ? 60 : Integer.toUnsignedLong(p.getClockSkewSeconds());
    if (local == null && remote == null) {
      return null;
    }
    return new Provider(name, p.getIssuer().isEmpty() ? null : p.getIssuer(), audiences, local, remote,
        List.copyOf(headers), params, p.getForward(), payloadHeader, inMetadata, skew, p.getRequireExpiration(),
        new VerifiedTokens(), cookies, List.copyOf(claimHeaders), p.getClearRouteCache());
  }

  private static Requirement requirement(JwtRequirement r, String path, Map<String, Integer> providers, ConfigErrors e) {
    return switch (r.getRequiresTypeCase()) {
      case PROVIDER_NAME -> forProvider(r.getProviderName(), null, path + ".provider_name", providers, e);
      case PROVIDER_AND_AUDIENCES -> forProvider(r.getProviderAndAudiences().getProviderName(),
          r.getProviderAndAudiences().getAudiencesList().stream().map(Provider::normalize).toList(),
          path + ".provider_and_audiences.provider_name", providers, e);
      case REQUIRES_ANY -> {
        List<Requirement> any = new ArrayList<>();
        for (int i = 0; i < r.getRequiresAny().getRequirementsCount(); i++) {
          any.add(requirement(r.getRequiresAny().getRequirements(i), path + ".requires_any.requirements[" + i + "]",
              providers, e));
        }
        if (any.size() < 2) {
          e.error(path + ".requires_any.requirements", "at least two requirements are required");
        }
        yield new Requirement.AnyOf(List.copyOf(any));
      }
      case REQUIRES_ALL -> {
        List<Requirement> all = new ArrayList<>();
        for (int i = 0; i < r.getRequiresAll().getRequirementsCount(); i++) {
          all.add(requirement(r.getRequiresAll().getRequirements(i), path + ".requires_all.requirements[" + i + "]",
              providers, e));
        }
        if (all.size() < 2) {
          e.error(path + ".requires_all.requirements", "at least two requirements are required");
        }
        yield new Requirement.AllOf(List.copyOf(all));
      }
      case ALLOW_MISSING -> new Requirement.AllowMissing();
      case ALLOW_MISSING_OR_FAILED -> new Requirement.AllowMissingOrFailed();
      case REQUIRESTYPE_NOT_SET -> {
        e.error(path, "expected one of provider_name, provider_and_audiences, requires_any, requires_all,"
            + " allow_missing, allow_missing_or_failed");
        yield new Requirement.AllowMissing();
      }
    };
  }

  private static Requirement forProvider(String name, List<String> audiences, String path,
      Map<String, Integer> providers, ConfigErrors e) {
    Integer i = providers.get(name);
    if (i == null) {
      e.error(path, "provider '" + name + "' is not defined (or is in error); expected one of "
          + new TreeMap<>(providers).keySet());
      return new Requirement.AllowMissing();
    }
    return new Requirement.ForProvider(i, audiences);
  }

  private static PathMatch match(RouteMatch m, boolean present, String path, ConfigErrors e) {
    if (!present) {
      e.error(path, "a match is required, e.g. prefix: /");
      return PathMatch.prefix("/", true);
    }
    if (m.getHeadersCount() > 0 || m.getQueryParametersCount() > 0 || m.hasGrpc()) {
      e.error(path, "jwt_authn rules match on the path only; headers, query_parameters and grpc are not supported");
    }
    boolean cs = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
    return switch (m.getPathSpecifierCase()) {
      case PREFIX -> PathMatch.prefix(m.getPrefix(), cs);
      case PATH -> PathMatch.exact(m.getPath(), cs);
      case PATH_SEPARATED_PREFIX -> PathMatch.separatedPrefix(m.getPathSeparatedPrefix(), cs);
      case SAFE_REGEX -> {
        try {
          yield PathMatch.regex(Pattern.compile(m.getSafeRegex().getRegex()));
        } catch (PatternSyntaxException ex) {
          e.error(path + ".safe_regex.regex", "'" + m.getSafeRegex().getRegex() + "' is not a valid regex");
          yield PathMatch.prefix("/", true);
        }
      }
      default -> {
        e.error(path, "expected one of prefix, path, path_separated_prefix, safe_regex");
        yield PathMatch.prefix("/", true);
      }
    };
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    if (settings instanceof JwtAuthnConfig.Disabled) {
      return context -> { };
    }
    String p = "http." + resources.statPrefix() + ".jwt_authn.";
    return new JwtAuthnFilter((JwtAuthnConfig) settings, clock, resources.stats().counter(p + "allowed"),
        resources.stats().counter(p + "denied"));
  }

  /** An HTTP field name (RFC 9110 token characters), not a pseudo-header and not Host. */
  private static boolean isHeaderName(String name) {
    if (name.isEmpty() || name.equalsIgnoreCase("host")) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!(Character.isLetterOrDigit(c) && c < 128) && "!#$%&'*+-.^_`|~".indexOf(c) < 0) {
        return false;
      }
    }
    return true;
  }
}
