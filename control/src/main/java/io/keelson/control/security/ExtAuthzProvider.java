package io.keelson.control.security;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import java.util.List;
import java.util.Map;

/**
 * One Istio meshConfig {@code extensionProviders} entry of kind {@code envoyExtAuthzHttp} or {@code envoyExtAuthzGrpc}:
 * where the external authorizer is and how the sidecar asks it. {@link #filter()} is the {@code envoy.filters.http.ext_authz}
 * istiod writes for it, enabled only for requests a CUSTOM policy's shadow rule matched. Immutable.
 *
 * @param service        a registry Service name (its workloads are the authorizer), or a host name or IP address
 * @param port           the authorizer's port for a host name or IP address (a registry Service's workloads keep theirs)
 * @param timeoutMillis  how long a check may take
 * @param statusOnError  the status when the authorizer cannot be reached (0: the data plane's default, 403)
 * @param headersInCheck request headers sent in the check (empty: the data plane's default); here and in the two
 *                       response lists, {@code abc*} is a prefix, {@code *abc} a suffix, {@code *} every header
 * @param additionalHeaders headers added to the check request (HTTP only)
 */
public record ExtAuthzProvider(String name, boolean grpc, String service, int port, long timeoutMillis, String pathPrefix,
    boolean failOpen, int statusOnError, List<String> headersInCheck, Map<String, String> additionalHeaders,
    List<String> headersToUpstreamOnAllow, List<String> headersToDownstreamOnDeny) {
  /** The RBAC metadata key of the shadow result (istiod's: {@code shadow_rules_stat_prefix} + the key). */
  public static final String SHADOW_PREFIX = "istio_ext_authz_";

  public ExtAuthzProvider {
    headersInCheck = List.copyOf(headersInCheck);
    additionalHeaders = Map.copyOf(additionalHeaders);
    headersToUpstreamOnAllow = List.copyOf(headersToUpstreamOnAllow);
    headersToDownstreamOnDeny = List.copyOf(headersToDownstreamOnDeny);
  }

  /** The cluster the sidecars reach the authorizer through. */
  public String cluster() {
    return "ext-authz|" + name;
  }

  /** The ext_authz filter for this provider, as istiod generates it. */
  public ExtAuthz filter() {
    ExtAuthz.Builder b = ExtAuthz.newBuilder().setFailureModeAllow(failOpen)
        .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
        .setFilterEnabledMetadata(MetadataMatcher.newBuilder().setFilter("envoy.filters.http.rbac")
            .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(SHADOW_PREFIX + "shadow_effective_policy_id"))
            .setValue(ValueMatcher.newBuilder().setStringMatch(StringMatcher.newBuilder()
                .setPrefix(ExtAuthzTranslator.POLICY_PREFIX))));
    if (statusOnError != 0) {
      b.setStatusOnError(HttpStatus.newBuilder().setCodeValue(statusOnError));
    }
    Duration timeout = Duration.newBuilder().setSeconds(timeoutMillis / 1000)
        .setNanos((int) (timeoutMillis % 1000) * 1_000_000).build();
    if (grpc) {
      // '|' is not valid in an authority: as istiod, the cluster name with it replaced
      return b.setGrpcService(GrpcService.newBuilder().setTimeout(timeout).setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder()
          .setClusterName(cluster()).setAuthority(cluster().replace("|", "_.")))).build();
    }
    if (!headersInCheck.isEmpty()) {
      b.setAllowedHeaders(headerMatchers(headersInCheck));
    }
    HttpService.Builder http = HttpService.newBuilder().setPathPrefix(pathPrefix == null ? "" : pathPrefix)
        .setServerUri(HttpUri.newBuilder().setUri("http://" + service).setCluster(cluster()).setTimeout(timeout));
    if (!additionalHeaders.isEmpty()) {
      AuthorizationRequest.Builder req = AuthorizationRequest.newBuilder();
      additionalHeaders.entrySet().stream().sorted(Map.Entry.comparingByKey())
          .forEach(e -> req.addHeadersToAdd(HeaderValue.newBuilder().setKey(e.getKey()).setValue(e.getValue())));
      http.setAuthorizationRequest(req);
    }
    if (!headersToUpstreamOnAllow.isEmpty() || !headersToDownstreamOnDeny.isEmpty()) {
      AuthorizationResponse.Builder resp = AuthorizationResponse.newBuilder();
      if (!headersToUpstreamOnAllow.isEmpty()) {
        resp.setAllowedUpstreamHeaders(headerMatchers(headersToUpstreamOnAllow));
      }
      if (!headersToDownstreamOnDeny.isEmpty()) {
        resp.setAllowedClientHeaders(headerMatchers(headersToDownstreamOnDeny));
      }
      http.setAuthorizationResponse(resp);
    }
    return b.setHttpService(http).build();
  }

  /**
   * The {@code envoy.filters.network.ext_authz} istiod writes for a gRPC provider on a TCP workload: the same gRPC
   * service, timeout and failOpen, stat_prefix {@code tcp.}, enabled by the shadow network RBAC's result. Only for
   * {@link #grpc} providers (an HTTP provider has no network check).
   */
  public io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz networkFilter() {
    if (!grpc) {
      throw new IllegalStateException("provider '" + name + "' is envoyExtAuthzHttp: it has no network check");
    }
    ExtAuthz http = filter();
    return io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.newBuilder()
        .setStatPrefix(ExtAuthzTranslator.TCP_STAT_PREFIX).setFailureModeAllow(failOpen)
        .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
        .setGrpcService(http.getGrpcService())
        .setFilterEnabledMetadata(http.getFilterEnabledMetadata().toBuilder().setFilter("envoy.filters.network.rbac"))
        .build();
  }

  /**
   * Istio's header patterns, as istiod maps them: {@code *abc} a suffix, {@code abc*} a prefix, anything else exact,
   * all ignoring case. {@code *} alone (istiod: an empty suffix, which Envoy refuses) matches every header name.
   */
  static ListStringMatcher headerMatchers(List<String> names) {
    ListStringMatcher.Builder l = ListStringMatcher.newBuilder();
    for (String n : names) {
      StringMatcher.Builder m = StringMatcher.newBuilder().setIgnoreCase(true);
      if (n.equals("*")) {
        m = StringMatcher.newBuilder().setSafeRegex(io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder()
            .setRegex(".*"));
      } else if (n.startsWith("*")) {
        m.setSuffix(n.substring(1));
      } else if (n.endsWith("*")) {
        m.setPrefix(n.substring(0, n.length() - 1));
      } else {
        m.setExact(n);
      }
      l.addPatterns(m);
    }
    return l.build();
  }
}
