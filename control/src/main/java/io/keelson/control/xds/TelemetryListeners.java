package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.type.v3.Percent;
import io.keelson.control.policy.Policy;
import io.keelson.control.telemetry.MeshTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.ProxyTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.MetricSettings;
import io.keelson.control.telemetry.TelemetryResolver.Side;
import io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory;
import io.keelson.dataplane.config.AccessLogConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A sidecar's resolved telemetry ({@link ProxyTelemetry}) written into its listeners, as istiod does: every HTTP
 * connection manager gets the {@code access_log} ({@code envoy.access_loggers.file}) and {@code tracing}
 * ({@code envoy.tracers.opentelemetry}) of its direction and, with metric overrides, Istio's {@code istio.stats} filter
 * before the router ({@link #istioStats}), every {@code tcp_proxy} the access log and the same {@code istio.stats} as a
 * network filter in front of it; inbound listeners
 * ({@code inbound}, {@code virtualInbound}) are SERVER, every other one (outbound, virtualOutbound, the per-port
 * listeners) CLIENT; a gateway's listeners are all CLIENT, as istiod's ({@link ProxyTelemetry#asGateway}: its HTTP
 * servers' connection managers and its TLS-passthrough/TCP servers' {@code tcp_proxy}). A traced proxy also gets the collector's cluster ({@link MeshTelemetry.TracingProvider#cluster()}).
 * API listeners (proxyless gRPC clients, which validate their HTTP connection manager as gRPC does) are never
 * touched. Applied after the mesh translation, per proxy ({@link TelemetryCache} keeps what it rewrote): a Telemetry
 * change is a new listener version pushed in place (the data plane drains the old listener's connections). Stateless.
 */
final class TelemetryListeners {
  static final String HCM = "envoy.filters.network.http_connection_manager";
  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  static final String ISTIO_STATS = "istio.stats";

  private TelemetryListeners() {}

  /** Listeners with telemetry written in, and their version (digest). Immutable. */
  record Telemetered(List<Listener> listeners, String version) {}

  /**
   * {@code r} with listeners {@code ls} (its own rewritten for {@code t}: {@link #rewrite}) and, when {@code t} is
   * traced, {@code collector} among its clusters (null: tracing has no provider).
   */
  static MeshResources assemble(MeshResources r, Telemetered ls, ProxyTelemetry t, Cluster collector) {
    List<Cluster> clusters = r.clusters();
    String clustersVersion = r.clustersVersion();
    if (t.traced() && collector != null) {
      clusters = new ArrayList<>(r.clusters());
      clusters.add(collector);
      // the translation's clusters version and the collector: no digest of every cluster again
      clustersVersion = MeshResources.digest(List.of(collector, Cluster.newBuilder().setName(r.clustersVersion()).build()));
    }
    return new MeshResources(ls.listeners(), r.routes(), List.copyOf(clusters), r.endpoints(), ls.version(),
        r.routesVersion(), clustersVersion, r.endpointsVersion());
  }

  /**
   * {@code in} with {@code t} written in: each non-API listener's HTTP connection managers and tcp_proxies get the
   * access log and tracing of its direction ({@code collectorCluster} null: no tracing).
   */
  static Telemetered rewrite(List<Listener> in, ProxyTelemetry t, MeshTelemetry mesh, String serviceName,
      String collectorCluster) {
    AccessLog log = accessLog(mesh.envoyAccessLog());
    List<Listener> listeners = new ArrayList<>(in.size());
    for (Listener l : in) {
      if (l.hasApiListener()) {
        listeners.add(l);
        continue;
      }
      Side side = inbound(l) ? t.server() : t.client();
      HttpConnectionManager.Tracing tracing = side.traced() && collectorCluster != null
          ? tracing(mesh.tracingProvider(), collectorCluster, serviceName, side.samplingPercent()) : null;
      listeners.add(withTelemetry(l, side.accessLog() ? filtered(log, side.accessLogFilter()) : null, tracing,
          istioStats(side.metrics())));
    }
    return new Telemetered(List.copyOf(listeners), MeshResources.digest(listeners));
  }

  static boolean inbound(Listener l) {
    return l.getName().equals(MeshMtls.INBOUND) || l.getName().equals(CapturedListeners.VIRTUAL_INBOUND);
  }

  private static Listener withTelemetry(Listener l, AccessLog log, HttpConnectionManager.Tracing tracing, HttpFilter stats) {
    Listener.Builder b = l.toBuilder();
    if (tracing != null) {
      // as istiod: a tracer reports an inbound listener's hop as the server's, others (outbound, gateway) as the client's
      b.setTrafficDirection(inbound(l) ? TrafficDirection.INBOUND : TrafficDirection.OUTBOUND);
    }
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      b.setFilterChains(i, chain(b.getFilterChains(i), log, tracing, stats));
    }
    if (b.hasDefaultFilterChain()) {
      b.setDefaultFilterChain(chain(b.getDefaultFilterChain(), log, tracing, stats));
    }
    return b.build();
  }

  private static FilterChain chain(FilterChain c, AccessLog log, HttpConnectionManager.Tracing tracing, HttpFilter stats) {
    FilterChain.Builder b = c.toBuilder();
    for (int i = b.getFiltersCount() - 1; i >= 0; i--) {
      if (b.getFilters(i).getName().equals(ISTIO_STATS)) {
        b.removeFilters(i);
      }
    }
    for (int i = 0; i < b.getFiltersCount(); i++) {
      Filter f = b.getFilters(i);
      if (!f.hasTypedConfig()) {
        continue;
      }
      try {
        if (f.getName().equals(HCM) && f.getTypedConfig().is(HttpConnectionManager.class)) {
          HttpConnectionManager.Builder hcm = f.getTypedConfig().unpack(HttpConnectionManager.class).toBuilder()
              .clearAccessLog().clearTracing();
          if (log != null) {
            hcm.addAccessLog(log);
          }
          if (tracing != null) {
            hcm.setTracing(tracing);
          }
          for (int h = hcm.getHttpFiltersCount() - 1; h >= 0; h--) {
            if (hcm.getHttpFilters(h).getName().equals(ISTIO_STATS)) {
              hcm.removeHttpFilters(h);
            }
          }
          if (stats != null && hcm.getHttpFiltersCount() > 0) {
            hcm.addHttpFilters(hcm.getHttpFiltersCount() - 1, stats); // before the router, as istiod places it
          }
          b.setFilters(i, f.toBuilder().setTypedConfig(Any.pack(hcm.build())));
        } else if (f.getName().equals(TCP_PROXY) && f.getTypedConfig().is(TcpProxy.class)) {
          TcpProxy.Builder tp = f.getTypedConfig().unpack(TcpProxy.class).toBuilder().clearAccessLog();
          if (log != null) {
            tp.addAccessLog(log);
          }
          b.setFilters(i, f.toBuilder().setTypedConfig(Any.pack(tp.build())));
          if (stats != null) { // istiod's TCP stats filter: a network filter in front of the tcp_proxy
            b.addFilters(i, Filter.newBuilder().setName(ISTIO_STATS).setTypedConfig(stats.getTypedConfig()));
            i++;
          }
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("the translation wrote an unreadable " + f.getName(), e); // our own config
      }
    }
    return b.build();
  }

  /**
   * Istio's {@code istio.stats} HTTP filter for one side's metric overrides (null for none): a {@code TypedStruct} of
   * istio/proxy's {@code stats.PluginConfig} with a {@code metrics[]} entry per overridden metric, {@code drop} for a
   * disabled one, else its {@code tags_to_remove} and {@code dimensions}, as istiod writes it.
   */
  static HttpFilter istioStats(java.util.Map<String, MetricSettings> metrics) {
    if (metrics.isEmpty()) {
      return null;
    }
    ListValue.Builder list = ListValue.newBuilder();
    metrics.forEach((name, m) -> {
      Struct.Builder e = Struct.newBuilder().putFields("name", string(name));
      if (m.disabled()) {
        e.putFields("drop", Value.newBuilder().setBoolValue(true).build());
      } else {
        ListValue.Builder remove = ListValue.newBuilder();
        Struct.Builder dimensions = Struct.newBuilder();
        m.tags().forEach((tag, value) -> {
          if (value == null) {
            remove.addValues(string(tag));
          } else {
            dimensions.putFields(tag, string(value));
          }
        });
        if (remove.getValuesCount() > 0) {
          e.putFields("tags_to_remove", Value.newBuilder().setListValue(remove).build());
        }
        if (dimensions.getFieldsCount() > 0) {
          e.putFields("dimensions", Value.newBuilder().setStructValue(dimensions).build());
        }
      }
      list.addValues(Value.newBuilder().setStructValue(e));
    });
    TypedStruct config = TypedStruct.newBuilder().setTypeUrl(IstioStatsFilterFactory.PLUGIN_CONFIG)
        .setValue(Struct.newBuilder().putFields("metrics", Value.newBuilder().setListValue(list).build())).build();
    return HttpFilter.newBuilder().setName(ISTIO_STATS).setTypedConfig(Any.pack(config)).build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /** {@code envoy.access_loggers.file} for {@code c} (path {@code /dev/stdout} for standard output). */
  static AccessLog accessLog(AccessLogConfig c) {
    SubstitutionFormatString.Builder format = SubstitutionFormatString.newBuilder();
    if (c.jsonFormat() != null) {
      Struct.Builder json = Struct.newBuilder();
      c.jsonFormat().forEach((k, v) -> json.putFields(k, Value.newBuilder().setStringValue(v).build()));
      format.setJsonFormat(json);
    } else {
      format.setTextFormatSource(DataSource.newBuilder().setInlineString(c.textFormat()));
    }
    FileAccessLog file = FileAccessLog.newBuilder().setPath(c.path() == null ? "/dev/stdout" : c.path())
        .setLogFormat(format).build();
    return AccessLog.newBuilder().setName("envoy.access_loggers.file").setTypedConfig(Any.pack(file)).build();
  }

  /** The extension name istiod gives a Telemetry's access-log filter (Envoy's CEL access-log filter). */
  static final String CEL_FILTER = "envoy.access_loggers.extension_filters.cel";

  /**
   * {@code log} with {@code expression} as its filter, istiod's shape for {@code accessLogging[].filter.expression}:
   * an {@code extension_filter} {@value #CEL_FILTER} holding an {@code ExpressionFilter}; {@code log} itself without one.
   */
  static AccessLog filtered(AccessLog log, String expression) {
    if (expression == null) {
      return log;
    }
    var cel = io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.newBuilder()
        .setExpression(expression).build();
    return log.toBuilder().setFilter(io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter.newBuilder()
        .setExtensionFilter(io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter.newBuilder()
            .setName(CEL_FILTER).setTypedConfig(Any.pack(cel)))).build();
  }

  /**
   * The connection manager's tracing to {@code provider}'s collector {@code cluster}: istiod's
   * {@code envoy.tracers.opentelemetry}, or its {@code envoy.tracers.zipkin} (JSON v2 to {@code /api/v2/spans}, 128-bit
   * trace ids, no shared span context, the collector's host name as Host).
   */
  static HttpConnectionManager.Tracing tracing(MeshTelemetry.TracingProvider provider, String cluster, String serviceName,
      double percent) {
    var http = io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder();
    if (provider != null && provider.zipkin()) {
      http.setName("envoy.tracers.zipkin").setTypedConfig(Any.pack(ZipkinConfig.newBuilder()
          .setCollectorCluster(cluster)
          .setCollectorEndpoint(ZIPKIN_ENDPOINT)
          .setCollectorEndpointVersion(ZipkinConfig.CollectorEndpointVersion.HTTP_JSON)
          .setTraceId128Bit(true)
          .setSharedSpanContext(com.google.protobuf.BoolValue.of(false))
          .setCollectorHostname(provider.hostname())
          .build()));
    } else {
      http.setName("envoy.tracers.opentelemetry").setTypedConfig(Any.pack(OpenTelemetryConfig.newBuilder()
          .setGrpcService(GrpcService.newBuilder().setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(cluster)))
          .setServiceName(serviceName)
          .build()));
    }
    var tracing = HttpConnectionManager.Tracing.newBuilder().setProvider(http)
        .setRandomSampling(Percent.newBuilder().setValue(percent));
    if (provider != null && provider.maxTagLength() > 0) {
      tracing.setMaxPathTagLength(com.google.protobuf.UInt32Value.of(provider.maxTagLength()));
    }
    return tracing.build();
  }

  /** Zipkin's span API, istiod's collector_endpoint. */
  static final String ZIPKIN_ENDPOINT = "/api/v2/spans";

  /**
   * The collector's cluster: {@code host:port} (STATIC for an IP address, STRICT_DNS for a name), or the registry
   * service's workloads (STATIC at their addresses); null when the service has no workload with an IP address (no
   * tracing until it has one).
   */
  static Cluster collector(MeshTelemetry.TracingProvider p, Collection<Policy.Workload> workloads) {
    List<Endpoint> endpoints = new ArrayList<>();
    boolean dns = false;
    if (p.service() == null) {
      dns = !io.keelson.control.policy.IpLiteral.is(p.host());
      endpoints.add(endpoint(p.host(), p.port()));
    } else {
      workloads.stream().filter(w -> w.service().equals(p.service())
              && io.keelson.control.policy.IpLiteral.is(w.address()))
          .sorted(java.util.Comparator.comparing(Policy::name))
          .forEach(w -> endpoints.add(endpoint(w.address(), w.port())));
    }
    if (endpoints.isEmpty()) {
      return null;
    }
    LocalityLbEndpoints.Builder lbs = LocalityLbEndpoints.newBuilder();
    endpoints.forEach(e -> lbs.addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(e)));
    return Cluster.newBuilder()
        .setName(p.cluster())
        .setType(dns ? Cluster.DiscoveryType.STRICT_DNS : Cluster.DiscoveryType.STATIC)
        .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED) // istiod's IPv4-first choice for DNS clusters
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(p.cluster()).addEndpoints(lbs))
        .build();
  }

  private static Endpoint endpoint(String host, int port) {
    return Endpoint.newBuilder().setAddress(MeshTranslator.address(host, port)).build();
  }
}
