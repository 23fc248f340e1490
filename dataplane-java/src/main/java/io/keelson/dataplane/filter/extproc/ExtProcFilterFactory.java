package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.ext_proc}: translates {@code ExternalProcessor} into {@link ExtProcConfig} (the
 * request- and response-headers phases, BUFFERED and STREAMED bodies, trailers: BUFFERED_PARTIAL, and trailers
 * SEND with a BUFFERED body of the same message, are refused by field) and {@code ExtProcPerRoute}
 * ({@code disabled}, {@code overrides.processing_mode}, {@code overrides.grpc_service}) into {@link PerRoute}, and
 * compiles {@link ExtProcFilter}. Fields SupportedFields refuses never reach here. Stateless.
 */
public final class ExtProcFilterFactory implements HttpFilterFactory {
  public static final String FILTER_NAME = "envoy.filters.http.ext_proc";

  /**
   * A route's settings: disabled, or overrides of the listener-level config (null fields keep it).
   *
   * @param modes   overrides.processing_mode, or null
   * @param service overrides.grpc_service, or null
   */
  record PerRoute(boolean disabled, ProcessingModes modes, Service service) {}

  /**
   * A gRPC service: its cluster, :authority and grpc_service.timeout (the whole stream's, 0 when unset); the call
   * waits the shorter of it and message_timeout.
   */
  record Service(String cluster, String authority, long timeoutNanos) {
    long callTimeout(long messageTimeoutNanos) {
      return timeoutNanos == 0 ? messageTimeoutNanos : Math.min(timeoutNanos, messageTimeoutNanos);
    }
  }

  @Override
  public String filterName() {
    return FILTER_NAME;
  }

  @Override
  public Class<? extends Message> configType() {
    return ExternalProcessor.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return ExtProcPerRoute.class;
  }

  /**
   * STREAMED bodies: the filter's own modes and what allow_mode_override lets a processor ask for
   * ({@link ExtProcConfig#mayStream}), or a route's overrides.processing_mode.
   */
  @Override
  public int streamedBodies(Object settings) {
    if (settings instanceof ExtProcConfig c) {
      return (c.mayStream(false) ? STREAMS_REQUEST : 0) | (c.mayStream(true) ? STREAMS_RESPONSE : 0);
    }
    PerRoute r = (PerRoute) settings;
    if (r.disabled() || r.modes() == null) {
      return 0;
    }
    return (r.modes().requestStreamed() ? STREAMS_REQUEST : 0) | (r.modes().responseStreamed() ? STREAMS_RESPONSE : 0);
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    ExternalProcessor c = (ExternalProcessor) message;
    boolean ok = true;
    long timeout = ExtProcConfig.DEFAULT_MESSAGE_TIMEOUT_NANOS;
    if (c.hasMessageTimeout()) {
      timeout = nanos(c.getMessageTimeout());
      if (timeout <= 0) {
        errors.error(path + ".message_timeout", "expected a positive duration");
        ok = false;
      }
    }
    long maxTimeout = c.hasMaxMessageTimeout() ? nanos(c.getMaxMessageTimeout()) : 0;
    if (maxTimeout < 0) {
      errors.error(path + ".max_message_timeout", "expected a non-negative duration");
      ok = false;
    }
    if (!c.hasGrpcService()) {
      errors.error(path + ".grpc_service", "the processor's service is required; expected grpc_service: { envoy_grpc: "
          + "{ cluster_name: ... } }");
      return null;
    }
    Service service = service(c.getGrpcService(), path + ".grpc_service", errors);
    // Unset, processing_mode is Envoy's default: request and response headers SEND.
    ProcessingModes send = modes(c.getProcessingMode(), path + ".processing_mode", errors);
    long deferredClose = c.hasDeferredCloseTimeout() ? nanos(c.getDeferredCloseTimeout())
        : ExtProcConfig.DEFAULT_DEFERRED_CLOSE_NANOS;
    if (deferredClose <= 0) {
      errors.error(path + ".deferred_close_timeout", "expected a positive duration");
      ok = false;
    }
    if (c.getDisableClearRouteCache() && c.getRouteCacheAction() != ExternalProcessor.RouteCacheAction.DEFAULT) {
      errors.error(path + ".route_cache_action", "only one of disable_clear_route_cache and route_cache_action may be "
          + "set; expected route_cache_action alone (RETAIN is disable_clear_route_cache: true)");
      ok = false;
    }
    if (!ok || service == null || send == null) {
      return null;
    }
    ExternalProcessor.RouteCacheAction routeCache = c.getDisableClearRouteCache()
        ? ExternalProcessor.RouteCacheAction.RETAIN : c.getRouteCacheAction();
    if (c.getObservabilityMode()) {
      if (send.requestStreamed() || send.responseStreamed()) {
        errors.error(path + ".processing_mode", "STREAMED bodies are not sent in observability_mode yet; expected "
            + "request_body_mode and response_body_mode NONE (BUFFERED is ignored in observability mode, as Envoy's)");
        return null;
      }
      send = observed(send);
    }
    return new ExtProcConfig(service.cluster(), service.authority(), service.callTimeout(timeout), timeout,
        c.getFailureModeAllow(), send, c.getAllowModeOverride(), c.getAllowedOverrideModesList(), c.getStatPrefix(),
        maxTimeout, c.getObservabilityMode(), deferredClose, routeCache);
  }

  /** The phases sent in observability_mode: BUFFERED bodies are not (Envoy ignores every body mode but STREAMED). */
  private static ProcessingModes observed(ProcessingModes m) {
    return new ProcessingModes(m.requestHeaders(), m.responseHeaders(), false, false, false, false,
        m.requestTrailers(), m.responseTrailers());
  }

  /**
   * Which phases are sent (a header mode SEND or DEFAULT sends them; bodies BUFFERED or STREAMED), or null after
   * reporting a mode Keelson does not run: BUFFERED_PARTIAL bodies, trailers SEND with a BUFFERED body (Envoy sends
   * that body before the trailers; Keelson's buffered body check waits for the message's end, trailers included).
   */
  private static ProcessingModes modes(ProcessingMode m, String path, ConfigErrors errors) {
    boolean ok = true;
    ok &= supportedBodyMode(m.getRequestBodyMode(), path + ".request_body_mode", errors);
    ok &= supportedBodyMode(m.getResponseBodyMode(), path + ".response_body_mode", errors);
    ok &= trailersWithBody(m.getRequestTrailerMode(), m.getRequestBodyMode(), path + ".request_trailer_mode", errors);
    ok &= trailersWithBody(m.getResponseTrailerMode(), m.getResponseBodyMode(), path + ".response_trailer_mode", errors);
    return ok ? runnable(m) : null;
  }

  /**
   * The phases {@code m} sends (a header mode SEND or DEFAULT sends them; bodies BUFFERED or STREAMED; trailers SEND),
   * or null for a mode Keelson does not run (see {@link #modes}); a processor's mode_override is checked here too.
   */
  static ProcessingModes runnable(ProcessingMode m) {
    if (!runs(m.getRequestBodyMode()) || !runs(m.getResponseBodyMode())
        || !runs(m.getRequestTrailerMode(), m.getRequestBodyMode())
        || !runs(m.getResponseTrailerMode(), m.getResponseBodyMode())) {
      return null;
    }
    return new ProcessingModes(m.getRequestHeaderMode() != ProcessingMode.HeaderSendMode.SKIP,
        m.getResponseHeaderMode() != ProcessingMode.HeaderSendMode.SKIP,
        m.getRequestBodyMode() == ProcessingMode.BodySendMode.BUFFERED,
        m.getResponseBodyMode() == ProcessingMode.BodySendMode.BUFFERED,
        m.getRequestBodyMode() == ProcessingMode.BodySendMode.STREAMED,
        m.getResponseBodyMode() == ProcessingMode.BodySendMode.STREAMED,
        m.getRequestTrailerMode() == ProcessingMode.HeaderSendMode.SEND,
        m.getResponseTrailerMode() == ProcessingMode.HeaderSendMode.SEND);
  }

  private static boolean runs(ProcessingMode.BodySendMode mode) {
    return mode == ProcessingMode.BodySendMode.NONE || mode == ProcessingMode.BodySendMode.BUFFERED
        || mode == ProcessingMode.BodySendMode.STREAMED;
  }

  private static boolean runs(ProcessingMode.HeaderSendMode trailers, ProcessingMode.BodySendMode body) {
    return trailers != ProcessingMode.HeaderSendMode.SEND || body != ProcessingMode.BodySendMode.BUFFERED;
  }

  private static boolean supportedBodyMode(ProcessingMode.BodySendMode mode, String path, ConfigErrors errors) {
    if (runs(mode)) {
      return true;
    }
    errors.error(path, "BUFFERED_PARTIAL bodies are not sent to processors yet; expected NONE, BUFFERED or STREAMED, "
        + "got " + mode);
    return false;
  }

  private static boolean trailersWithBody(ProcessingMode.HeaderSendMode trailers, ProcessingMode.BodySendMode body,
      String path, ConfigErrors errors) {
    if (runs(trailers, body)) {
      return true;
    }
    errors.error(path, "trailers SEND with a BUFFERED body of the same message is not supported yet; expected SKIP, "
        + "or the body mode NONE or STREAMED");
    return false;
  }

  /** envoy_grpc's cluster and authority, and grpc_service.timeout; null after errors. */
  private static Service service(GrpcService g, String path, ConfigErrors errors) {
    if (!g.hasEnvoyGrpc()) {
      errors.error(path, "only envoy_grpc is supported; expected envoy_grpc: { cluster_name: ... }");
      return null;
    }
    String cluster = g.getEnvoyGrpc().getClusterName();
    if (cluster.isEmpty()) {
      errors.error(path + ".envoy_grpc.cluster_name", "the processor's cluster is required");
      return null;
    }
    long timeout = g.hasTimeout() ? nanos(g.getTimeout()) : 0;
    if (g.hasTimeout() && timeout <= 0) {
      errors.error(path + ".timeout", "expected a positive duration");
      return null;
    }
    String authority = g.getEnvoyGrpc().getAuthority().isEmpty() ? cluster : g.getEnvoyGrpc().getAuthority();
    return new Service(cluster, authority, timeout);
  }

  private static long nanos(Duration d) {
    return d.getSeconds() * 1_000_000_000L + d.getNanos();
  }

  @Override
  public Object translatePerRoute(Message message, String path, ConfigErrors errors) {
    ExtProcPerRoute p = (ExtProcPerRoute) message;
    if (p.getOverrideCase() == ExtProcPerRoute.OverrideCase.DISABLED) {
      if (!p.getDisabled()) {
        errors.error(path + ".disabled", "expected disabled: true (false overrides nothing)");
        return null;
      }
      return new PerRoute(true, null, null);
    }
    if (p.getOverrideCase() != ExtProcPerRoute.OverrideCase.OVERRIDES) {
      errors.error(path, "expected disabled: true or overrides");
      return null;
    }
    var o = p.getOverrides();
    String at = path + ".overrides";
    ProcessingModes send = o.hasProcessingMode() ? modes(o.getProcessingMode(), at + ".processing_mode", errors) : null;
    Service service = o.hasGrpcService()
        ? service(o.getGrpcService(), at + ".grpc_service", errors) : null;
    if ((o.hasProcessingMode() && send == null) || (o.hasGrpcService() && service == null)) {
      return null;
    }
    return new PerRoute(false, send, service);
  }

  /**
   * A route's settings merged over its virtual host's, as Envoy merges them: the route's disabled wins; otherwise its
   * overrides, with the host's where the route sets none.
   */
  @Override
  public Object mergePerRoute(Object virtualHost, Object route) {
    PerRoute vh = (PerRoute) virtualHost;
    PerRoute r = (PerRoute) route;
    if (r.disabled()) {
      return r;
    }
    return new PerRoute(false, r.modes() != null ? r.modes() : vh.modes(),
        r.service() != null ? r.service() : vh.service());
  }

  @Override
  public HttpFilter createOverride(Object listenerSettings, Object settings, FilterResources resources) {
    PerRoute p = (PerRoute) settings;
    if (p.disabled()) {
      return new ExtProcFilter(null);
    }
    ExtProcConfig c = (ExtProcConfig) listenerSettings;
    if (p.modes() != null) {
      // observability_mode: a route's body modes are not sent either (its STREAMED ones too: see docs/security.md)
      c = c.withProcessingMode(c.observability() ? observed(p.modes()) : p.modes());
    }
    if (p.service() != null) {
      c = c.withService(p.service());
    }
    return create(c, resources);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    ExtProcConfig config = (ExtProcConfig) settings;
    return new ExtProcFilter(new ProcessorStream(config, ExtProcStats.of(resources, config.statPrefix())));
  }
}
