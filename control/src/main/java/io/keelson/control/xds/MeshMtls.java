package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.control.policy.Authz;
import java.util.Collection;

/**
 * Automatic mesh mTLS as standard Envoy config, Istio's way: TLS contexts name the SDS secrets
 * {@value #WORKLOAD_CERT} (the proxy's own rotating workload certificate) and {@value #ROOT_CA} (the
 * mesh trust bundle), which each proxy resolves locally from its workload identity; the control plane
 * never holds a workload key. Outbound clusters check the destination's SPIFFE IDs (URI SAN); a
 * sidecar's inbound listener is STRICT, PERMISSIVE (TLS or plaintext on one port) or DISABLE per
 * {@code PeerAuthentication}. Stateless.
 */
public final class MeshMtls {
  public static final String WORKLOAD_CERT = "default";
  public static final String ROOT_CA = "ROOTCA";
  /** The sidecar's inbound listener and the static cluster of its app (see SidecarBootstrap). */
  static final String INBOUND = "inbound";
  static final String APP_CLUSTER = "inbound|app";
  private static final String TLS = "envoy.transport_sockets.tls";

  private MeshMtls() {}

  private static SdsSecretConfig secret(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(MeshTranslator.ADS).build();
  }

  /** Istio's TCP metadata exchange ALPN ({@code istio-peer-exchange}). */
  static final String PEER_EXCHANGE = "istio-peer-exchange";
  /**
   * istiod's ALPN for an in-mesh HTTP/2 cluster with metadata exchange ({@code ALPNInMeshH2WithMxc}): the destination
   * sidecar picks h2.
   */
  static final java.util.List<String> ALPN_IN_MESH_H2 = java.util.List.of(PEER_EXCHANGE, "istio", "h2");
  /**
   * istiod's ALPN for any other in-mesh cluster ({@code ALPNInMeshWithMxc}): what its tcp_proxy connections offer (a
   * destination sidecar with the metadata exchange picks {@code istio-peer-exchange}); its HTTP connections offer
   * {@code istio-http/1.1} first (the data plane's equivalent of istiod's istio.alpn filter, see the data plane's
   * ClientTls), so the destination sidecar of a port with no declared protocol picks its HTTP chain.
   */
  static final java.util.List<String> ALPN_IN_MESH = java.util.List.of(PEER_EXCHANGE, "istio");
  /** istiod's {@code istio.metadata_exchange} filter name (its {@code MxFilterName}). */
  static final String MX_FILTER = "istio.metadata_exchange";
  private static final Any MX_CONFIG = Any.pack(com.github.xds.type.v3.TypedStruct.newBuilder()
      .setTypeUrl("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange")
      .setValue(com.google.protobuf.Struct.newBuilder()
          .putFields("protocol", com.google.protobuf.Value.newBuilder().setStringValue(PEER_EXCHANGE).build())
          .putFields("enable_discovery", com.google.protobuf.Value.newBuilder().setBoolValue(true).build()))
      .build());
  /** istiod's {@code TCPListenerMx}: first on an inbound mTLS tcp_proxy chain. */
  static final Filter TCP_LISTENER_MX = Filter.newBuilder().setName(MX_FILTER).setTypedConfig(MX_CONFIG).build();
  /** istiod's {@code TCPClusterMx}: on every in-mesh (mesh mTLS) cluster. */
  static final io.envoyproxy.envoy.config.cluster.v3.Filter TCP_CLUSTER_MX =
      io.envoyproxy.envoy.config.cluster.v3.Filter.newBuilder().setName(MX_FILTER).setTypedConfig(MX_CONFIG).build();
  /** What the istio.alpn filter offers for HTTP over mesh mTLS: the inbound HTTP chain of an auto port matches it. */
  static final java.util.List<String> ALPN_ISTIO_HTTP = java.util.List.of("istio-http/1.0", "istio-http/1.1", "istio-h2");
  /** istiod's ALPN on an inbound HTTP chain ({@code ALPNHttp}): HTTP/2 for callers that offer it. */
  static final java.util.List<String> ALPN_HTTP = java.util.List.of("h2", "http/1.1");

  /** Client side: present {@value #WORKLOAD_CERT}, trust {@value #ROOT_CA}, accept only {@code spiffeIds}. */
  public static TransportSocket upstream(Collection<String> spiffeIds) {
    return upstream(spiffeIds, false);
  }

  /** As {@link #upstream(Collection)}; an HTTP/2 cluster ({@code http2}) offers {@code h2} by ALPN, others {@code istio}. */
  static TransportSocket upstream(Collection<String> spiffeIds, boolean http2) {
    return upstream(spiffeIds, http2, null);
  }

  /**
   * A DestinationRule's ISTIO_MUTUAL ({@code tls}, not null): as {@link #upstream(Collection, boolean)} with its
   * {@code subjectAltNames} in place of {@code accounts} when it names any, and its {@code sni}, as istiod.
   */
  static TransportSocket istioMutual(io.keelson.control.policy.Policy.ClientTls tls, Collection<String> accounts,
      boolean http2) {
    return upstream(tls.istioMutualSans(accounts), http2, tls.sni());
  }

  /** As {@link #upstream(Collection, boolean)}, sending {@code sni} (null: none). */
  private static TransportSocket upstream(Collection<String> spiffeIds, boolean http2, String sni) {
    CertificateValidationContext.Builder sans = CertificateValidationContext.newBuilder();
    spiffeIds.stream().sorted().distinct().forEach(id -> sans.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
        .setSanType(SubjectAltNameMatcher.SanType.URI).setMatcher(StringMatcher.newBuilder().setExact(id))));
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(secret(WORKLOAD_CERT))
        .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
            .setDefaultValidationContext(sans)
            .setValidationContextSdsSecretConfig(secret(ROOT_CA)));
    common.addAllAlpnProtocols(http2 ? ALPN_IN_MESH_H2 : ALPN_IN_MESH);
    UpstreamTlsContext.Builder u = UpstreamTlsContext.newBuilder().setCommonTlsContext(common);
    if (sni != null) {
      u.setSni(sni);
    }
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(u.build())).build();
  }

  /**
   * Server side: present {@value #WORKLOAD_CERT}, require a client certificate chaining to {@value #ROOT_CA}; an
   * HTTP chain ({@code http}) accepts h2 by ALPN (callers whose cluster to it is HTTP/2 choose it).
   */
  static TransportSocket downstream(boolean http) {
    return downstream(http ? ALPN_HTTP : java.util.List.of());
  }

  /** Server side as {@link #downstream(boolean)}, accepting {@code alpn}. */
  static TransportSocket downstream(java.util.List<String> alpn) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(secret(WORKLOAD_CERT))
        .setValidationContextSdsSecretConfig(secret(ROOT_CA))
        .addAllAlpnProtocols(alpn);
    DownstreamTlsContext d = DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(common)
        .setRequireClientCertificate(BoolValue.of(true))
        .build();
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(d)).build();
  }

  /**
   * The sidecar's inbound listener on {@code port}, replacing its bootstrap's plaintext one: everything
   * goes to its app, over mTLS per {@code mode} (UNSET = PERMISSIVE, as Istio).
   */
  public static Listener inbound(int port, Authz.MtlsMode mode) {
    return inbound(port, mode, java.util.List.of());
  }

  /** With {@code rbac} (envoy.filters.http.rbac, DENY before ALLOW) before the router. */
  public static Listener inbound(int port, Authz.MtlsMode mode, java.util.List<HttpFilter> rbac) {
    return listener(port, mode, java.util.List.of(httpToApp(APP_CLUSTER, rbac)));
  }

  /**
   * The inbound HTTP connection manager: every request to {@code cluster} (the app), {@code filters}
   * (JWT, RBAC) before the router, the caller's identity to the app in x-forwarded-client-cert.
   */
  static Filter httpToApp(String cluster, java.util.List<HttpFilter> filters) {
    HttpConnectionManager hcm = MeshConnectionManagers.newBuilder()
        .setStatPrefix(INBOUND)
        // The app sees who called: x-forwarded-client-cert By=<this workload>;Hash=...;URI=<the caller's SPIFFE ID>.
        .setForwardClientCertDetails(HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET)
        .setSetCurrentClientCertDetails(HttpConnectionManager.SetCurrentClientCertDetails.newBuilder().setUri(true))
        .setRouteConfig(RouteConfiguration.newBuilder().setName(INBOUND).addVirtualHosts(VirtualHost.newBuilder()
            .setName("app").addDomains("*").addRoutes(Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(cluster)))))
        .addAllHttpFilters(filters)
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
        .setTypedConfig(Any.pack(hcm)).build();
  }

  /**
   * The inbound listener of a sidecar whose app speaks raw TCP: {@code rbac} (envoy.filters.network.rbac,
   * DENY before ALLOW) then {@code envoy.filters.network.tcp_proxy} to the app, over mTLS per {@code mode}.
   */
  public static Listener inboundTcp(int port, Authz.MtlsMode mode, java.util.List<Filter> rbac) {
    return listener(port, mode, tcpTo(APP_CLUSTER, INBOUND, rbac));
  }

  /** {@code c} (an in-mesh cluster) with istiod's upstream metadata exchange filter ({@link #TCP_CLUSTER_MX}). */
  static io.envoyproxy.envoy.config.cluster.v3.Cluster.Builder withPeerExchange(
      io.envoyproxy.envoy.config.cluster.v3.Cluster.Builder c) {
    return c.getFiltersList().contains(TCP_CLUSTER_MX) ? c : c.addFilters(TCP_CLUSTER_MX);
  }

  /** {@code rbac} (network filters) then a tcp_proxy to {@code cluster}. */
  static java.util.List<Filter> tcpTo(String cluster, String statPrefix, java.util.List<Filter> rbac) {
    java.util.List<Filter> filters = new java.util.ArrayList<>(rbac);
    filters.add(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
        TcpProxy.newBuilder().setStatPrefix(statPrefix).setCluster(cluster).build())).build());
    return filters;
  }

  /** The sidecar's inbound listener on 127.0.0.1:{@code port} running {@code filters} under {@code mode}. */
  static Listener listener(int port, Authz.MtlsMode mode, java.util.List<Filter> filters) {
    Listener.Builder l = Listener.newBuilder().setName(INBOUND).setAddress(MeshTranslator.address("127.0.0.1", port));
    if (inspectsTls(mode)) {
      l.addListenerFilters(tlsInspector());
    }
    return l.addAllFilterChains(chains(mode, filters)).build();
  }

  /**
   * The filter chains running {@code filters} under {@code mode}: STRICT, one mTLS chain; DISABLE, one
   * plaintext chain; otherwise (PERMISSIVE, UNSET) an mTLS chain for {@code transport_protocol: tls}
   * (needs {@link #tlsInspector()}) then a plaintext one. An mTLS tcp_proxy chain runs istiod's metadata exchange
   * first ({@link #TCP_LISTENER_MX}) and accepts {@code istio-peer-exchange} by ALPN (Istio's TCP metadata exchange).
   */
  static java.util.List<FilterChain> chains(Authz.MtlsMode mode, java.util.List<Filter> filters) {
    FilterChain plaintext = FilterChain.newBuilder().addAllFilters(filters).build();
    boolean http = filters.stream().anyMatch(f -> f.getName().equals("envoy.filters.network.http_connection_manager"));
    // istiod's inbound TCP chains: the metadata exchange first, istio-peer-exchange accepted by ALPN
    FilterChain mtls = !http
        ? FilterChain.newBuilder().addFilters(TCP_LISTENER_MX).addAllFilters(filters)
            .setTransportSocket(downstream(java.util.List.of(PEER_EXCHANGE))).build()
        : FilterChain.newBuilder().addAllFilters(filters).setTransportSocket(downstream(http)).build();
    return switch (mode) {
      case STRICT -> java.util.List.of(mtls);
      case DISABLE -> java.util.List.of(plaintext);
      default -> java.util.List.of(
          mtls.toBuilder().setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol("tls")).build(),
          plaintext);
    };
  }

  /** True when {@link #chains} selects by transport protocol (the listener needs the TLS inspector). */
  static boolean inspectsTls(Authz.MtlsMode mode) {
    return mode != Authz.MtlsMode.STRICT && mode != Authz.MtlsMode.DISABLE;
  }

  static ListenerFilter tlsInspector() {
    return ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())).build();
  }
}
