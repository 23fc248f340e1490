package io.keelson.dataplane.admin;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.stats.ClusterStats;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Answers admin requests from the proxy's live state. Runs on the admin event loop only. */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(AdminHandler.class);
  private final ProxyServer proxy;

  AdminHandler(ProxyServer proxy) {
    this.proxy = proxy;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    String path = new QueryStringDecoder(req.uri()).path();
    FullHttpResponse resp;
    try {
      resp = respond(path, req);
    } catch (RuntimeException e) {
      LOG.warn("admin: {} failed", path, e);
      resp = text(500, "admin endpoint " + path + " failed: " + e + "\n");
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    HttpUtil.setKeepAlive(resp, keepAlive);
    var f = ctx.writeAndFlush(resp);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** A connection error (a reset, a malformed request the codec could not frame): nothing to answer. */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("admin connection {} closed after {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }

  private FullHttpResponse respond(String path, FullHttpRequest req) {
    return switch (path) {
      case "/ready" -> proxy.ready() ? text(200, "LIVE\n") : text(503, proxy.state().name() + "\n");
      case "/config_dump" -> json(configDump());
      case "/stats/prometheus" -> prometheus();
      case "/clusters" -> text(200, clusters());
      case "/stats" -> text(200, proxy.stats().toEnvoyText());
      case "/listeners" -> text(200, listeners());
      case "/healthz" -> proxy.ready() ? text(200, "OK\n") : text(503, proxy.state().name() + "\n");
      case "/drain_listeners" -> drainListeners(req);
      case "/healthcheck/fail" -> healthCheck(req, true);
      case "/healthcheck/ok" -> healthCheck(req, false);
      case "/logging" -> logging(req);
      case "/server_info" -> json(serverInfo());
      case "/" -> text(200, "keelson admin: /ready /healthz /server_info /config_dump /stats /stats/prometheus /clusters /listeners"
          + " /drain_listeners (POST) /healthcheck/fail (POST) /healthcheck/ok (POST) /logging (POST ?level=L or ?LOGGER=L)\n");
      default -> text(404, "no admin endpoint " + path + "; see /\n");
    };
  }

  private FullHttpResponse prometheus() {
    StringBuilder out = new StringBuilder(proxy.stats().toPrometheus());
    out.append("# TYPE keelson_pipeline_ring_depth gauge\n")
        .append("keelson_pipeline_ring_depth{mode=\"")
        .append(proxy.pipelines().mode().name().toLowerCase(java.util.Locale.ROOT))
        .append("\"} ")
        .append(proxy.pipelines().depth())
        .append('\n');
    var logs = proxy.context().accessLogServiceIfStarted();
    if (logs != null) {
      out.append("# TYPE keelson_access_log_written counter\nkeelson_access_log_written ").append(logs.written.sum()).append('\n');
      out.append("# TYPE keelson_access_log_dropped counter\nkeelson_access_log_dropped ").append(logs.dropped.sum()).append('\n');
      out.append("# TYPE keelson_access_log_backlog gauge\nkeelson_access_log_backlog ").append(logs.backlog()).append('\n');
    }
    out.append("# TYPE envoy_server_live gauge\nenvoy_server_live ").append(proxy.ready() ? 1 : 0).append('\n');
    out.append("# TYPE envoy_server_state gauge\nenvoy_server_state ").append(proxy.state().code()).append('\n');
    FullHttpResponse r = text(200, out.toString());
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    return r;
  }

  /**
   * Envoy's /server_info in spirit (its fields where Keelson has them): state, the command-line options that
   * shape the process, and the runtime facts found at start (TLS library, kernel TLS offload probe).
   */
  private String serverInfo() {
    var o = proxy.options();
    return "{\"state\":\"" + proxy.state().name() + "\""
        + ",\"command_line_options\":{\"concurrency\":" + o.concurrency()
        + ",\"transport\":\"" + o.transport().label() + "\""
        + ",\"pipeline\":\"" + o.pipeline().name().toLowerCase(java.util.Locale.ROOT) + "\""
        + ",\"drain_time_seconds\":" + o.drainTime().toSeconds()
        + ",\"tls_offload\":\"" + o.tlsOffload().label() + "\"}"
        + ",\"tls_offload\":" + proxy.tlsOffload().toJson() + "}\n";
  }

  /** Envoy's /listeners text format: {@code name::address}, listeners with {@code bind_to_port: false} included. */
  private String listeners() {
    StringBuilder out = new StringBuilder();
    for (String line : proxy.listenerListing()) {
      out.append(line).append('\n');
    }
    return out.toString();
  }

  /** Envoy's POST /drain_listeners: stop accepting and drain the connections (closing what is left at the drain time); the process keeps running. */
  private FullHttpResponse drainListeners(FullHttpRequest req) {
    if (!req.method().equals(io.netty.handler.codec.http.HttpMethod.POST)) {
      return text(405, "/drain_listeners needs POST\n");
    }
    proxy.drainListeners();
    return text(200, "OK\n");
  }

  /**
   * Envoy's POST /healthcheck/fail and /healthcheck/ok: envoy.filters.http.health_check answers 503 (and other responses
   * carry x-envoy-immediate-health-check-fail) from fail until ok, and the server state is DRAINING ({@code /ready}
   * 503, {@code server.state} 1).
   */
  private FullHttpResponse healthCheck(FullHttpRequest req, boolean fail) {
    if (!req.method().equals(io.netty.handler.codec.http.HttpMethod.POST)) {
      return text(405, new QueryStringDecoder(req.uri()).path() + " needs POST\n");
    }
    proxy.stats().server().failHealthCheck(fail);
    return text(200, "OK\n");
  }

  /** Envoy's /logging: GET lists the loggers; POST ?level=L sets all, ?LOGGER=L one (a package covers its loggers). */
  private FullHttpResponse logging(FullHttpRequest req) {
    if (!LogLevels.available()) {
      return text(501, "the logging backend " + LogLevels.backend() + " cannot change levels at run time; "
          + "expected SLF4J's java.util.logging binding (slf4j-jdk14)\n");
    }
    var params = new QueryStringDecoder(req.uri()).parameters();
    if (params.isEmpty()) {
      return text(200, LogLevels.list());
    }
    if (!req.method().equals(io.netty.handler.codec.http.HttpMethod.POST)) {
      return text(405, "/logging changes levels with POST\n");
    }
    String problem = LogLevels.apply(params);
    return problem == null ? text(200, LogLevels.list()) : text(400, problem + "\n");
  }

  /**
   * The running snapshot's dump with the accepted clusters and listeners still warming (not in it, or in it at their
   * previous version) in Envoy's {@code dynamic_warming_clusters} and listeners' {@code warming_state} shapes.
   */
  private String configDump() {
    String dump = proxy.snapshot().config().configDump();
    var warming = proxy.warming();
    int end = dump.lastIndexOf('}');
    return warming == null || end < 0 ? dump : dump.substring(0, end) + warming.configDumpFields() + dump.substring(end);
  }

  /**
   * Envoy's /clusters text format: {@code cluster::host:port::stat::value}; a new cluster still warming (not serving
   * yet) is listed too, as Envoy lists its warming clusters, with {@code warming::true} and no hosts.
   */
  private String clusters() {
    StringBuilder out = new StringBuilder();
    java.util.Map<String, ServingCluster> serving = proxy.snapshot().clusters();
    java.util.Set<String> warming = new java.util.TreeSet<>();
    if (proxy.warming() != null) {
      proxy.warming().clusters().forEach(r -> warming.add(r.name()));
    }
    warming.removeAll(serving.keySet()); // an update warms while its previous version serves, listed below
    for (String n : warming) {
      out.append(n).append("::observability_name::").append(n).append('\n');
      out.append(n).append("::added_via_api::true\n");
      out.append(n).append("::warming::true\n");
    }
    for (ServingCluster c : new TreeMap<>(serving).values()) {
      ClusterStats s = c.stats();
      String n = c.name();
      out.append(n).append("::observability_name::").append(n).append('\n');
      out.append(n).append("::lb_policy::").append(c.config().lbPolicy()).append('\n');
      out.append(n).append("::upstream_rq_total::").append(s.rqTotal.sum()).append('\n');
      out.append(n).append("::upstream_cx_active::").append(s.cxActive.sum()).append('\n');
      var endpoints = c.config().endpoints();
      for (int i = 0; i < endpoints.size(); i++) {
        EndpointConfig e = endpoints.get(i);
        out.append(n).append("::").append(e).append("::weight::").append(e.weight()).append('\n');
        out.append(n).append("::").append(e).append("::health_flags::")
            .append(c.health() != null ? c.health().flags(i) : healthFlags(c.resilience().health(i))).append('\n');
      }
    }
    return out.toString();
  }

  /** Envoy's health_flags: "healthy", or each reason an endpoint is skipped. */
  private static String healthFlags(io.keelson.dataplane.balance.EndpointHealth h) {
    if (h == null || h.available()) {
      return "healthy";
    }
    StringBuilder b = new StringBuilder();
    if (h.has(io.keelson.dataplane.balance.EndpointHealth.FAILED_ACTIVE_HEALTH_CHECK)) {
      b.append("/failed_active_hc");
    }
    if (h.has(io.keelson.dataplane.balance.EndpointHealth.EJECTED)) {
      b.append("/failed_outlier_check");
    }
    return b.toString();
  }

  private static FullHttpResponse text(int status, String body) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(status),
            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
    return r;
  }

  private static FullHttpResponse json(String body) {
    FullHttpResponse r = text(200, body);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
    return r;
  }
}
