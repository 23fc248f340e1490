package io.keelson.control.security;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy.RequestAuthentication;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio {@code RequestAuthentication} → {@code envoy.filters.http.jwt_authn} for one workload, Istio's
 * way: every jwtRule of every policy selecting the workload (its namespace's, and the root namespace's
 * mesh-wide ones) becomes a provider {@code origins-N} (one per issuer, first policy by namespace/name
 * wins), its payload kept as metadata under the issuer; one rule for every path requires any provider
 * or no token at all ({@code allow_missing}), so an invalid token is refused (401) and a missing one is
 * left to AuthorizationPolicy ({@code requestPrincipals}). {@code jwksUri} is fetched by the proxy
 * (remote_jwks, refreshed every {@value #JWKS_CACHE_SECONDS} s); inline {@code jwks} travels in the config.
 * Stateless.
 */
public final class RequestAuthenticationTranslator {
  public static final String FILTER = "envoy.filters.http.jwt_authn";
  static final long JWKS_CACHE_SECONDS = 300;

  private RequestAuthenticationTranslator() {}

  /** The jwt_authn filter for the workload, or null when no RequestAuthentication selects it. */
  public static HttpFilter httpFilter(String namespace, Map<String, String> labels,
      Collection<RequestAuthentication> all, String rootNamespace) {
    return httpFilter(namespace, labels, all, rootNamespace, false);
  }

  /**
   * The jwt_authn filter for the workload, or null when no RequestAuthentication selects it.
   *
   * @param clearRouteCache every provider clears the route cache once its token verified (istiod does on gateways):
   *                        the route is chosen again, so VirtualService routes can match the token's claims
   *                        ({@code @request.auth.claims.*}) and its claim headers
   */
  public static HttpFilter httpFilter(String namespace, Map<String, String> labels,
      Collection<RequestAuthentication> all, String rootNamespace, boolean clearRouteCache) {
    JwtAuthentication config = config(namespace, labels, all, rootNamespace, clearRouteCache);
    return config == null ? null
        : HttpFilter.newBuilder().setName(FILTER).setTypedConfig(Any.pack(config)).build();
  }

  /** The filter's config, or null when no RequestAuthentication selects the workload. */
  public static JwtAuthentication config(String namespace, Map<String, String> labels,
      Collection<RequestAuthentication> all, String rootNamespace) {
    return config(namespace, labels, all, rootNamespace, false);
  }

  /** The filter's config ({@code clearRouteCache}: as {@link #httpFilter}), or null when no RequestAuthentication selects the workload. */
  public static JwtAuthentication config(String namespace, Map<String, String> labels,
      Collection<RequestAuthentication> all, String rootNamespace, boolean clearRouteCache) {
    List<RequestAuthentication> sorted = new ArrayList<>(all);
    sorted.sort(Comparator.comparing(RequestAuthentication::namespace).thenComparing(RequestAuthentication::name));
    Map<String, Authz.JwtRule> byIssuer = new LinkedHashMap<>();
    for (RequestAuthentication r : sorted) {
      boolean ns = r.namespace().equals(namespace) || r.namespace().equals(rootNamespace);
      if (ns && WorkloadSelector.labelsMatch(r.selector(), labels)) {
        r.jwtRules().forEach(j -> byIssuer.putIfAbsent(j.issuer(), j));
      }
    }
    if (byIssuer.isEmpty()) {
      return null;
    }
    JwtAuthentication.Builder b = JwtAuthentication.newBuilder();
    JwtRequirementOrList.Builder any = JwtRequirementOrList.newBuilder();
    int i = 0;
    for (Authz.JwtRule j : byIssuer.values()) {
      String name = "origins-" + i++;
      b.putProviders(name, provider(j).toBuilder().setClearRouteCache(clearRouteCache).build());
      any.addRequirements(JwtRequirement.newBuilder().setProviderName(name));
    }
    any.addRequirements(JwtRequirement.newBuilder().setAllowMissing(com.google.protobuf.Empty.getDefaultInstance()));
    b.addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRequires(JwtRequirement.newBuilder().setRequiresAny(any)));
    return b.build();
  }

  private static JwtProvider provider(Authz.JwtRule j) {
    JwtProvider.Builder p = JwtProvider.newBuilder().setIssuer(j.issuer()).addAllAudiences(j.audiences())
        .setForward(j.forwardOriginalToken()).setPayloadInMetadata(j.issuer());
    if (j.jwks() != null) {
      p.setLocalJwks(DataSource.newBuilder().setInlineString(j.jwks()));
    } else {
      p.setRemoteJwks(RemoteJwks.newBuilder()
          .setHttpUri(HttpUri.newBuilder().setUri(j.jwksUri()).setCluster("outbound|jwks|" + host(j.jwksUri()))
              .setTimeout(Duration.newBuilder().setSeconds(5)))
          .setCacheDuration(Duration.newBuilder().setSeconds(JWKS_CACHE_SECONDS)));
    }
    j.fromHeaders().forEach((h, prefix) -> p.addFromHeaders(JwtHeader.newBuilder().setName(h).setValuePrefix(prefix)));
    p.addAllFromParams(j.fromParams());
    p.addAllFromCookies(j.fromCookies());
    j.outputClaimToHeaders().forEach((header, claim) -> p.addClaimToHeaders(
        io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader.newBuilder().setHeaderName(header)
            .setClaimName(claim)));
    if (j.outputPayloadToHeader() != null) {
      p.setForwardPayloadHeader(j.outputPayloadToHeader());
    }
    return p.build();
  }

  private static String host(String uri) {
    return java.net.URI.create(uri).getHost();
  }
}
