package io.keelson.dataplane.filter;

import io.keelson.dataplane.filter.cors.CorsFilterFactory;
import io.keelson.dataplane.filter.fault.FaultFilterFactory;
import io.keelson.dataplane.filter.ratelimit.LocalRateLimitFactory;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Every HTTP filter Keelson runs besides the router, by typed_config type name. Immutable. */
public final class HttpFilterFactories {
  public static final List<HttpFilterFactory> ALL = List.of(new CorsFilterFactory(), new FaultFilterFactory(), new LocalRateLimitFactory(),
      new io.keelson.dataplane.filter.rbac.RbacFilterFactory(), new io.keelson.dataplane.filter.jwt.JwtAuthnFactory(),
      new io.keelson.dataplane.filter.grpcweb.GrpcWebFilterFactory(),
      new io.keelson.dataplane.filter.grpcjson.GrpcJsonTranscoderFactory(),
      new io.keelson.dataplane.filter.extauthz.ExtAuthzFilterFactory(),
      new io.keelson.dataplane.filter.extproc.ExtProcFilterFactory(),
      new io.keelson.dataplane.filter.rls.RateLimitFilterFactory(),
      new io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory(),
      new io.keelson.dataplane.filter.healthcheck.HealthCheckFilterFactory(),
      new io.keelson.dataplane.filter.buffer.BufferFilterFactory(),
      new io.keelson.dataplane.filter.compressor.CompressorFilterFactory(),
      new io.keelson.dataplane.filter.decompressor.DecompressorFilterFactory(),
      new io.keelson.dataplane.filter.statefulsession.StatefulSessionFilterFactory(),
      new io.keelson.dataplane.filter.csrf.CsrfFilterFactory(),
      new io.keelson.dataplane.filter.basicauth.BasicAuthFilterFactory(),
      new io.keelson.dataplane.filter.bandwidthlimit.BandwidthLimitFactory());

  private static final Map<String, HttpFilterFactory> BY_TYPE =
      ALL.stream().collect(Collectors.toUnmodifiableMap(HttpFilterFactories::typeName, Function.identity()));

  private HttpFilterFactories() {}

  /** The factory for a typed_config full type name, or null. */
  public static HttpFilterFactory forType(String typeName) {
    return BY_TYPE.get(typeName);
  }

  /** The factory whose per-route message has this full type name, or null. */
  public static HttpFilterFactory forPerRouteType(String typeName) {
    for (HttpFilterFactory f : ALL) {
      if (descriptorName(f.perRouteConfigType()).equals(typeName)) {
        return f;
      }
    }
    return null;
  }

  /** The factory that reads this built-in route field message type (see {@link HttpFilterFactory#routeFieldKey}), or null. */
  public static HttpFilterFactory forRouteField(String typeName) {
    for (HttpFilterFactory f : ALL) {
      if (typeName.equals(f.routeFieldKey())) {
        return f;
      }
    }
    return null;
  }

  public static String typeName(HttpFilterFactory f) {
    return descriptorName(f.configType());
  }

  /** The type names Keelson accepts in http_filters, for error messages. */
  public static String names() {
    return ALL.stream().map(f -> typeName(f) + (f instanceof io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory
        ? " (istio.stats: type_url " + io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory.PLUGIN_CONFIG + ")"
        : "")).collect(Collectors.joining(", "));
  }

  static String descriptorName(Class<? extends com.google.protobuf.Message> type) {
    try {
      return ((com.google.protobuf.Descriptors.Descriptor) type.getMethod("getDescriptor").invoke(null)).getFullName();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type + " is not a generated message", e);
    }
  }
}
