package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.route.ValueMatch;
import java.util.List;

/**
 * envoy.filters.http.ext_authz with an http_service, validated: where the check goes and which headers
 * travel in each direction. A null matcher list means the field was not set (Envoy's defaults apply).
 * Immutable.
 *
 * @param grpc                  the check is envoy.service.auth.v3.Authorization/Check over HTTP/2 (grpc_service);
 *                              the header lists below are then empty (gRPC checks carry every request header)
 * @param cluster               server_uri.cluster (or grpc_service.envoy_grpc.cluster_name): the server's cluster
 * @param authority             the check request's :authority for gRPC (envoy_grpc.authority, else the cluster name)
 * @param pathPrefix            prepended to the request's path (with its query) in the check request
 * @param timeoutNanos          server_uri.timeout (grpc_service.timeout, 200 ms by default): the whole check
 * @param allowedHeaders        request headers sent besides Envoy's fixed set (ExtAuthz.allowed_headers, or
 *                              the deprecated authorization_request.allowed_headers); empty for none
 * @param disallowedHeaders     request headers never sent
 * @param headersToAdd          authorization_request.headers_to_add: fixed headers on every check request
 * @param upstreamHeaders       authorization_response.allowed_upstream_headers: copied (set) onto the
 *                              upstream request on OK
 * @param upstreamAppend        allowed_upstream_headers_to_append: appended on OK
 * @param clientHeaders         allowed_client_headers: sent to the client on a denial (null: all but Host)
 * @param statusOnError         the reply status when the check fails (403 by default)
 * @param failureModeAllow      a failed check lets the request through
 * @param failureModeHeader     ... then adds {@code x-envoy-auth-failure-mode-allowed: true} upstream
 * @param enabledMetadata       filter_enabled_metadata: only requests whose metadata matches are checked; null for all
 */
record ExtAuthzConfig(boolean grpc, String cluster, String authority, String pathPrefix, long timeoutNanos, List<ValueMatch> allowedHeaders,
    List<ValueMatch> disallowedHeaders, List<HeaderMutations.HeaderValue> headersToAdd, List<ValueMatch> upstreamHeaders,
    List<ValueMatch> upstreamAppend, List<ValueMatch> clientHeaders, int statusOnError, boolean failureModeAllow,
    boolean failureModeHeader, EnabledMetadata enabledMetadata) {

  /** The largest authorization response body kept (a denial's body reaches the client). */
  static final int MAX_RESPONSE_BODY_BYTES = 64 * 1024;

  static boolean anyMatch(List<ValueMatch> matchers, String lowerName) {
    for (int i = 0; i < matchers.size(); i++) {
      if (matchers.get(i).matches(lowerName)) {
        return true;
      }
    }
    return false;
  }
}
