package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.control.policy.IpLiteral;
import io.keelson.control.policy.Policy;
import io.keelson.control.security.ExtAuthzProvider;
import io.keelson.control.security.ExtensionProviders;
import io.keelson.control.store.PolicySet;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The external authorization providers of the control plane with, per provider, the cluster a sidecar whose CUSTOM
 * policies use it gets ({@link ExtAuthzProvider#cluster()}): a registry Service's workloads at their addresses and
 * ports (STATIC), else the provider's host and port (STATIC for an IP address, STRICT_DNS for a name). gRPC providers'
 * clusters speak HTTP/2. Built once per translation; immutable.
 */
record ExtAuthzClusters(ExtensionProviders providers, Map<String, Cluster> clusters) {
  static final ExtAuthzClusters NONE = new ExtAuthzClusters(ExtensionProviders.NONE, Map.of());

  static ExtAuthzClusters of(ExtensionProviders providers, PolicySet state, Collection<Policy.Workload> workloads) {
    if (providers.byName().isEmpty()) {
      return NONE;
    }
    java.util.Set<String> services = new java.util.HashSet<>();
    state.ofType(Policy.Service.class).forEach(s -> services.add(s.name()));
    Map<String, Cluster> out = new LinkedHashMap<>();
    for (ExtAuthzProvider p : providers.byName().values()) {
      out.put(p.name(), cluster(p, services.contains(p.service()), workloads));
    }
    return new ExtAuthzClusters(providers, Map.copyOf(out));
  }

  private static Cluster cluster(ExtAuthzProvider p, boolean registry, Collection<Policy.Workload> workloads) {
    LocalityLbEndpoints.Builder lbs = LocalityLbEndpoints.newBuilder();
    boolean dns = false;
    if (registry) {
      workloads.stream().filter(w -> w.service().equals(p.service()) && IpLiteral.is(w.address()))
          .sorted(java.util.Comparator.comparing(Policy::name))
          .forEach(w -> lbs.addLbEndpoints(endpoint(w.address(), w.port())));
    } else {
      dns = !IpLiteral.is(p.service());
      lbs.addLbEndpoints(endpoint(IpLiteral.unbracketed(p.service()), p.port()));
    }
    Cluster c = Cluster.newBuilder()
        .setName(p.cluster())
        .setType(dns ? Cluster.DiscoveryType.STRICT_DNS : Cluster.DiscoveryType.STATIC)
        .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED) // istiod's IPv4-first choice for DNS clusters
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(p.cluster()).addEndpoints(lbs))
        .build();
    return p.grpc() ? UpstreamProtocols.http2(c) : c;
  }

  private static LbEndpoint endpoint(String host, int port) {
    return LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(MeshTranslator.address(host, port)))
        .build();
  }
}
