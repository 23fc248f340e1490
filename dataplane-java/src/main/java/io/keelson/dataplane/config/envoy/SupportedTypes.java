package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;
import java.util.stream.Collectors;

/** The typed_config types Keelson reads (everything else is rejected by name). Constants only. */
final class SupportedTypes {
  static final String PREFIX = "type.googleapis.com/";
  static final String HCM = HttpConnectionManager.getDescriptor().getFullName();
  static final String TCP_PROXY = TcpProxy.getDescriptor().getFullName();
  static final String NETWORK_RBAC =
      io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor().getFullName();
  static final String NETWORK_EXT_AUTHZ =
      io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.getDescriptor().getFullName();
  static final String NETWORK_LOCAL_RATELIMIT =
      io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.getDescriptor().getFullName();
  static final String CONNECTION_LIMIT =
      io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit.getDescriptor().getFullName();
  static final String ROUTER = Router.getDescriptor().getFullName();
  static final String UPSTREAM_HTTP_OPTIONS = HttpProtocolOptions.getDescriptor().getFullName();
  static final String TLS_INSPECTOR =
      io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor().getFullName();

  static final String HTTP_INSPECTOR =
      io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector.getDescriptor().getFullName();

  static final String ORIGINAL_DST =
      io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor().getFullName();

  static final String PROXY_PROTOCOL =
      io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol.getDescriptor().getFullName();

  static final String UPSTREAM_PROXY_PROTOCOL = io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3
      .ProxyProtocolUpstreamTransport.getDescriptor().getFullName();

  static final List<Descriptor> DESCRIPTORS =
      List.of(
          HttpConnectionManager.getDescriptor(),
          TcpProxy.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit.getDescriptor(),
          // Istio's istio.stats (stats.PluginConfig) as istiod sends it, an HTTP and a network filter
          com.github.xds.type.v3.TypedStruct.getDescriptor(),
          Router.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuth.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState.getDescriptor(),
          io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor.getDescriptor(),
          io.envoyproxy.envoy.extensions.compression.gzip.decompressor.v3.Gzip.getDescriptor(),
          // readable so that the compressor factories refuse them by type with their own message (gzip only)
          io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli.getDescriptor(),
          io.envoyproxy.envoy.extensions.compression.brotli.decompressor.v3.Brotli.getDescriptor(),
          io.envoyproxy.envoy.extensions.compression.zstd.compressor.v3.Zstd.getDescriptor(),
          io.envoyproxy.envoy.extensions.compression.zstd.decompressor.v3.Zstd.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute.getDescriptor(),
          HttpProtocolOptions.getDescriptor(),
          io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor(),
          io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.getDescriptor(),
          io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.getDescriptor(),
          io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor(),
          io.envoyproxy.envoy.config.trace.v3.ZipkinConfig.getDescriptor(),
          io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor(),
          io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.getDescriptor(),
          io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor(),
          io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol.getDescriptor(),
          io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport
              .getDescriptor(),
          io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route.getDescriptor(),
          // a DNS cluster's or the bootstrap's typed_dns_resolver_config (DnsResolverTranslator)
          io.envoyproxy.envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig.getDescriptor());

  static final JsonFormat.TypeRegistry REGISTRY = JsonFormat.TypeRegistry.newBuilder().add(DESCRIPTORS).build();

  static final String NAMES = DESCRIPTORS.stream().map(Descriptor::getFullName).collect(Collectors.joining(", "));

  private SupportedTypes() {}

  static boolean isSupported(String typeUrl) {
    String name = typeName(typeUrl);
    return DESCRIPTORS.stream().anyMatch(d -> d.getFullName().equals(name));
  }

  static String typeName(String typeUrl) {
    int slash = typeUrl.lastIndexOf('/');
    return slash < 0 ? typeUrl : typeUrl.substring(slash + 1);
  }
}
