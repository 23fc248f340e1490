package io.keelson.dataplane.filter.extauthz;

import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.keelson.dataplane.filter.ConfigErrors;

/**
 * {@code envoy.filters.network.ext_authz} ({@code envoy.extensions.filters.network.ext_authz.v3.ExtAuthz}), validated:
 * one gRPC Check per downstream connection, before tcp_proxy connects. Immutable.
 *
 * @param statPrefix             counters are {@code ext_authz.<stat_prefix>.*}
 * @param cluster                grpc_service.envoy_grpc.cluster_name (the cluster must speak HTTP/2)
 * @param authority              the call's :authority (envoy_grpc.authority, else the cluster name)
 * @param timeoutNanos           grpc_service.timeout (200 ms by default): the whole check
 * @param failureModeAllow       a failed check (error, timeout, no cluster) lets the connection through
 * @param includePeerCertificate the client's certificate (URL-encoded PEM) goes in source.certificate
 * @param includeTlsSession      the ClientHello's SNI goes in tls_session.sni
 * @param enabledMetadata        filter_enabled_metadata: only connections whose metadata matches are checked; null
 *                               for all
 */
public record NetworkExtAuthzConfig(String statPrefix, String cluster, String authority, long timeoutNanos,
    boolean failureModeAllow, boolean includePeerCertificate, boolean includeTlsSession, EnabledMetadata enabledMetadata) {

  public static final String FILTER_NAME = "envoy.filters.network.ext_authz";

  /** The validated config of {@code c} at {@code path}, or null after reporting what is wrong to {@code errors}. */
  public static NetworkExtAuthzConfig from(ExtAuthz c, String path, ConfigErrors errors) {
    boolean ok = true;
    if (c.getStatPrefix().isEmpty()) {
      errors.error(path + ".stat_prefix", "a stat_prefix is required (counters are ext_authz.<stat_prefix>.*)");
      ok = false;
    }
    if (!c.hasGrpcService()) {
      errors.error(path + ".grpc_service", "an authorization service is required; expected grpc_service: "
          + "{ envoy_grpc: { cluster_name: ... } }");
      return null;
    }
    var g = c.getGrpcService();
    String at = path + ".grpc_service";
    if (!g.hasEnvoyGrpc()) {
      errors.error(at, "only envoy_grpc is supported; expected envoy_grpc: { cluster_name: ... }");
      return null;
    }
    String cluster = g.getEnvoyGrpc().getClusterName();
    if (cluster.isEmpty()) {
      errors.error(at + ".envoy_grpc.cluster_name", "the authorization server's cluster is required");
      ok = false;
    }
    long timeoutNanos = g.hasTimeout() ? g.getTimeout().getSeconds() * 1_000_000_000L + g.getTimeout().getNanos() : 200_000_000L;
    if (timeoutNanos <= 0) {
      errors.error(at + ".timeout", "expected a positive duration");
      ok = false;
    }
    EnabledMetadata enabled = c.hasFilterEnabledMetadata()
        ? EnabledMetadata.from(c.getFilterEnabledMetadata(), path + ".filter_enabled_metadata", errors) : null;
    if (!ok || (c.hasFilterEnabledMetadata() && enabled == null)) {
      return null;
    }
    String authority = g.getEnvoyGrpc().getAuthority().isEmpty() ? cluster : g.getEnvoyGrpc().getAuthority();
    return new NetworkExtAuthzConfig(c.getStatPrefix(), cluster, authority, timeoutNanos, c.getFailureModeAllow(),
        c.getIncludePeerCertificate(), c.getIncludeTlsSession(), enabled);
  }
}
