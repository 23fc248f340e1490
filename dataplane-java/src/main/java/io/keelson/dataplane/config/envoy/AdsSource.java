package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.DnsResolverConfig;
import io.keelson.dataplane.config.Http2Options;

/**
 * A bootstrap's {@code dynamic_resources}: where the ADS server is and how to talk to it. Immutable.
 *
 * @param clusterName     the static cluster named by ads_config.grpc_services[0].envoy_grpc.cluster_name
 * @param host            that cluster's first endpoint address
 * @param port            that cluster's first endpoint port
 * @param delta           ads_config.api_type DELTA_GRPC (incremental) rather than GRPC (state of the world)
 * @param node            the bootstrap's node (id, cluster, metadata) sent to the server
 * @param staticResources the bootstrap's static listeners and clusters, without the ADS cluster, served alongside xDS ones
 * @param http2Defaults   every connection manager's HTTP/2 defaults, with the bootstrap's {@code layered_runtime}
 *                        premature-reset keys applied: the runtime is process-wide, so xDS listeners get them too
 * @param dnsResolver     the bootstrap's DNS resolver config ({@code typed_dns_resolver_config} or its deprecated
 *                        forms), every DNS cluster's without its own, static or from CDS, as Envoy; null: the system's
 */
public record AdsSource(
    String clusterName, String host, int port, boolean delta, Node node, Bootstrap.StaticResources staticResources,
    Http2Options http2Defaults, DnsResolverConfig dnsResolver) {

  public AdsSource {
    java.util.Objects.requireNonNull(http2Defaults, "http2Defaults");
  }

  /** A source with Keelson's HTTP/2 defaults (a bootstrap without a runtime). */
  public AdsSource(String clusterName, String host, int port, boolean delta, Node node,
      Bootstrap.StaticResources staticResources) {
    this(clusterName, host, port, delta, node, staticResources, Http2Options.DEFAULT, null);
  }

  /** The same source with {@code defaults} as the HTTP/2 defaults. */
  public AdsSource withHttp2Defaults(Http2Options defaults) {
    return new AdsSource(clusterName, host, port, delta, node, staticResources, defaults, dnsResolver);
  }

  /** The same source with {@code resolver} as the DNS clusters' default resolver config. */
  public AdsSource withDnsResolver(DnsResolverConfig resolver) {
    return new AdsSource(clusterName, host, port, delta, node, staticResources, http2Defaults, resolver);
  }
}
