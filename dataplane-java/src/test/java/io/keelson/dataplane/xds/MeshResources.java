package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.List;

/** Envoy resources of a small mesh as a control plane would send them: a listener using RDS, EDS clusters. Stateless. */
final class MeshResources {
  static final String LISTENER = "ingress";
  static final String ROUTE = "local_route";
  static final ConfigSource ADS = ConfigSource.newBuilder()
      .setAds(AggregatedConfigSource.getDefaultInstance()).setResourceApiVersion(ApiVersion.V3).build();

  private MeshResources() {}

  /**
   * A bootstrap taking listeners and clusters over ADS (state of the world) from 127.0.0.1:{@code xdsPort}, with a
   * static listener routing everything to static cluster "v1" at {@code upstreamPort} until the control plane's arrive.
   */
  static String adsBootstrap(int xdsPort, int upstreamPort) {
    return """
        dynamic_resources:
          ads_config:
            api_type: GRPC
            transport_api_version: V3
            grpc_services:
            - envoy_grpc: { cluster_name: xds_cluster }
          lds_config: { ads: {}, resource_api_version: V3 }
          cds_config: { ads: {}, resource_api_version: V3 }
        """ + bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", upstreamPort) + """
          - name: xds_cluster
            type: STATIC
            connect_timeout: 1s
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config: { http2_protocol_options: {} }
            load_assignment:
              cluster_name: xds_cluster
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        """.formatted(xdsPort));
  }

  static Listener listener(int port) {
    HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix("ingress_http")
        .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(ROUTE))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Listener.newBuilder()
        .setName(LISTENER)
        .setAddress(address("127.0.0.1", port))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
            .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
        .build();
  }

  /** A route splitting "/" between clusters by weight. */
  static RouteConfiguration route(String... clusterAndWeight) {
    WeightedCluster.Builder split = WeightedCluster.newBuilder();
    for (int i = 0; i < clusterAndWeight.length; i += 2) {
      split.addClusters(WeightedCluster.ClusterWeight.newBuilder().setName(clusterAndWeight[i])
          .setWeight(UInt32Value.of(Integer.parseInt(clusterAndWeight[i + 1]))));
    }
    return RouteConfiguration.newBuilder()
        .setName(ROUTE)
        .addVirtualHosts(VirtualHost.newBuilder().setName("mesh").addDomains("*")
            .addRoutes(Route.newBuilder().setName("split")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setWeightedClusters(split))))
        .build();
  }

  static Cluster edsCluster(String name) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
        .build();
  }

  /** A cluster with a field Keelson does not run (a custom health checker). */
  static Cluster healthCheckedCluster(String name) {
    return edsCluster(name).toBuilder()
        .addHealthChecks(HealthCheck.newBuilder()
            .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
            .setInterval(com.google.protobuf.Duration.newBuilder().setSeconds(1))
            .setCustomHealthCheck(HealthCheck.CustomHealthCheck.newBuilder().setName("envoy.health_checkers.redis")))
        .build();
  }

  /** Endpoints as host, port, weight triples on 127.0.0.1. */
  static ClusterLoadAssignment endpoints(String cluster, int... portAndWeight) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
    for (int i = 0; i < portAndWeight.length; i += 2) {
      locality.addLbEndpoints(LbEndpoint.newBuilder()
          .setEndpoint(Endpoint.newBuilder().setAddress(address("127.0.0.1", portAndWeight[i])))
          .setLoadBalancingWeight(UInt32Value.of(portAndWeight[i + 1])));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(cluster).addEndpoints(locality).build();
  }

  static Snapshot snapshot(String version, List<Cluster> clusters, List<ClusterLoadAssignment> endpoints,
      List<Listener> listeners, List<RouteConfiguration> routes) {
    return Snapshot.create(clusters, endpoints, listeners, routes, List.of(), version);
  }

  static Address address(String host, int port) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)).build();
  }

  /** A cluster verifying its upstream with the served CA secret {@code caName}, its ConfigSource's initial_fetch_timeout. */
  static Cluster verifyingCluster(String name, String caName, java.time.Duration initialFetchTimeout) {
    var source = ADS.toBuilder();
    if (initialFetchTimeout != null) {
      source.setInitialFetchTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(initialFetchTimeout.getSeconds()));
    }
    var common = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
        .setValidationContextSdsSecretConfig(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig
            .newBuilder().setName(caName).setSdsConfig(source));
    var upstream = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.newBuilder()
        .setSni("partner.example.test").setCommonTlsContext(common).build();
    return edsCluster(name).toBuilder().setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket
        .newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(upstream))).build();
  }

  static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret caSecret(String name,
      io.keelson.dataplane.testing.TestCa ca) {
    return io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.newBuilder()
        .setName(name).setValidationContext(
            io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.newBuilder()
                .setTrustedCa(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder().setInlineString(ca.certPem())))
        .build();
  }

  /** Listener {@code name} on {@code port} terminating TLS with the served certificate secret {@code secretName}. */
  static Listener tlsListener(String name, int port, String secretName) {
    return tlsListener(name, port, secretName, null);
  }

  /** As {@link #tlsListener(String, int, String)}, the secret's ConfigSource with {@code initialFetchTimeout} if not null. */
  static Listener tlsListener(String name, int port, String secretName, java.time.Duration initialFetchTimeout) {
    var source = ADS.toBuilder();
    if (initialFetchTimeout != null) {
      source.setInitialFetchTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(initialFetchTimeout.getSeconds()));
    }
    var l = listener(port).toBuilder().setName(name);
    var tls = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig
                .newBuilder().setName(secretName).setSdsConfig(source)))
        .build();
    l.getFilterChainsBuilder(0).setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)));
    return l.build();
  }

  /** A served certificate secret: {@code chain} and {@code key} in PEM. */
  static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret certSecret(String name, String chain, String key) {
    return io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.newBuilder().setName(name)
        .setTlsCertificate(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate.newBuilder()
            .setCertificateChain(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder().setInlineString(chain))
            .setPrivateKey(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder().setInlineString(key)))
        .build();
  }
}
