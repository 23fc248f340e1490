package io.keelson.dataplane.testing;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Starts a real {@link ProxyServer} from Envoy bootstrap YAML (through the same loader the CLI uses),
 * on ephemeral ports, and talks to it. Not thread-safe; one per test.
 */
public final class ProxyHarness implements AutoCloseable {
  /** The virtual_hosts item of {@link #bootstrap}: every host and path to cluster "backend". */
  public static final String ALL_TO_BACKEND = allTo("backend");

  public final ProxyServer server;
  public final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  public ProxyHarness(String yaml, PipelineMode mode) throws Exception {
    this(yaml, mode, (io.keelson.dataplane.transport.Transport) null);
  }

  /** @param concurrency event loops (the other constructors run 2) */
  public ProxyHarness(String yaml, PipelineMode mode, int concurrency) throws Exception {
    server = new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"), ProxyOptions.defaults().withConcurrency(concurrency)
        .withPipeline(mode).withAdmin("127.0.0.1", 0).withDrainTime(Duration.ofSeconds(3))).start();
  }

  /** @param transport the socket transport, or null for the default ({@code --transport auto}) */
  public ProxyHarness(String yaml, PipelineMode mode, io.keelson.dataplane.transport.Transport transport) throws Exception {
    this(yaml, mode, transport, Duration.ofSeconds(3));
  }

  /**
   * @param transport the socket transport, or null for the default ({@code --transport auto})
   * @param drainTime the proxy's drain time (shutdown, and a removed listener's connections)
   */
  public ProxyHarness(String yaml, PipelineMode mode, io.keelson.dataplane.transport.Transport transport,
      Duration drainTime) throws Exception {
    this(yaml, mode, o -> (transport == null ? o : o.withTransport(transport)).withDrainTime(drainTime));
  }

  /** @param tune changes the options (2 event loops, admin on an ephemeral port, 3 s drain time) */
  public ProxyHarness(String yaml, PipelineMode mode, java.util.function.UnaryOperator<ProxyOptions> tune)
      throws Exception {
    ProxySnapshot snapshot = BootstrapLoader.fromYaml(yaml, "test.yaml");
    server = new ProxyServer(snapshot, tune.apply(ProxyOptions.defaults().withConcurrency(2).withPipeline(mode)
        .withAdmin("127.0.0.1", 0).withDrainTime(Duration.ofSeconds(3)))).start();
  }

  public int port() {
    return server.listenerAddress("ingress").getPort();
  }

  public int adminPort() {
    return server.adminAddress().getPort();
  }

  public HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return client.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  public String admin(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path))
            .timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  /** The value of counter or gauge {@code name} on the admin's /stats (e.g. {@code http.ingress_http.downstream_cx_active}). */
  public long stat(String name) throws Exception {
    return admin("/stats").lines().filter(l -> l.startsWith(name + ": "))
        .mapToLong(l -> Long.parseLong(l.substring(name.length() + 2).trim()))
        .findFirst().orElseThrow(() -> new AssertionError("no stat " + name));
  }

  @Override
  public void close() {
    server.close();
  }

  /**
   * A bootstrap with one listener named "ingress" on an ephemeral port.
   *
   * @param virtualHosts YAML of the virtual_hosts list items, indented by 12 spaces
   * @param clusters     YAML of the clusters list items, indented by 2 spaces
   */
  public static String bootstrap(String virtualHosts, String clusters) {
    return bootstrap(virtualHosts, clusters, "");
  }

  /** A virtual_hosts item of {@link #bootstrap}: every host and path to {@code cluster}. */
  public static String allTo(String cluster) {
    return """
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: %s }
        """.formatted(cluster);
  }

  /**
   * {@code yaml} (from {@link #bootstrap}) with {@code fields} added to its connection manager, each a
   * YAML field at any indentation (a multi-line field is re-indented as a whole).
   */
  public static String withHcm(String yaml, String... fields) {
    StringBuilder extra = new StringBuilder();
    for (String f : fields) {
      f.stripTrailing().stripIndent().lines().forEach(l -> extra.append("          ").append(l).append('\n'));
    }
    String anchor = "          stat_prefix: ingress_http\n";
    if (!yaml.contains(anchor)) {
      throw new IllegalStateException("bootstrap layout changed");
    }
    return yaml.replace(anchor, anchor + extra);
  }

  /** The connection manager's {@code access_log} field (for {@link #withHcm}): one file log with a text format. */
  public static String fileAccessLog(java.nio.file.Path file, String format) {
    return """
        access_log:
        - name: envoy.access_loggers.file
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
            path: %s
            log_format:
              text_format_source:
                inline_string: "%s"
        """.formatted(file, format);
  }

  /**
   * One {@code access_log} list entry (at column 0; indent it where it goes): a file log with {@code filter} (a YAML
   * flow mapping, Envoy's AccessLogFilter) and a text format.
   */
  public static String filteredFileLog(java.nio.file.Path file, String filter, String format) {
    return """
        - name: envoy.access_loggers.file
          filter: %s
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
            path: %s
            log_format: { text_format_source: { inline_string: "%s" } }
        """.formatted(filter, file, format);
  }

  /**
   * A listeners item (indented 2 spaces) that cannot bind: TCP on 192.0.2.1 (TEST-NET-1, on no local interface), a
   * tcp_proxy to {@code cluster}: an update carrying it fails on the bind.
   */
  public static String unbindableTcpListener(String cluster) {
    return """
          - name: tcp
            address: { socket_address: { address: 192.0.2.1, port_value: 8080 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: t
                  cluster: %s
        """.formatted(cluster);
  }

  /**
   * An http_filters item of {@link #bootstrap(String, String, String)}: RBAC denying every request whose path starts with
   * {@code prefix} (403 {@code RBAC: access denied}).
   */
  public static String rbacDenyPrefix(String prefix) {
    return """
                  - name: envoy.filters.http.rbac
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                      rules:
                        action: DENY
                        policies:
                          deny:
                            permissions: [ { url_path: { path: { prefix: %s } } } ]
                            principals: [ { any: true } ]
        """.formatted(prefix);
  }

  /**
   * The connection manager's {@code tracing} field (for {@link #withHcm}): OpenTelemetry spans sampled at
   * {@code samplingPercent}, exported over OTLP/gRPC to cluster "otel" as service {@code service}.
   */
  public static String otelTracing(double samplingPercent, String service) {
    return """
        tracing:
          random_sampling: { value: %s }
          provider:
            name: envoy.tracers.opentelemetry
            typed_config:
              "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
              grpc_service: { envoy_grpc: { cluster_name: otel } }
              service_name: %s
        """.formatted(samplingPercent, service);
  }

  /**
   * As {@link #bootstrap(String, String)}, with HTTP filters before the router.
   *
   * @param httpFilters YAML of http_filters list items, indented by 10 spaces
   */
  public static String bootstrap(String virtualHosts, String clusters, String httpFilters) {
    return """
        static_resources:
          listeners:
          - name: ingress
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: ingress_http
                  route_config:
                    name: local
                    virtual_hosts:
        %s
                  http_filters:
        %s
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          clusters:
        %s
        """.formatted(virtualHosts.stripTrailing(), httpFilters.stripTrailing(), clusters.stripTrailing()).replace("\n\n", "\n");
  }

  /**
   * A bootstrap with one listener {@code name} on an ephemeral port, for tests that write their own filter chains.
   *
   * @param listenerFilters listener_filters items indented 4 spaces, or "" for none
   * @param filterChains    filter_chains items indented 4 spaces
   * @param clusters        clusters items indented 2 spaces
   */
  public static String listener(String name, String listenerFilters, String filterChains, String clusters) {
    String filters = listenerFilters.isBlank() ? "" : "    listener_filters:\n" + listenerFilters.stripTrailing() + "\n";
    return """
        static_resources:
          listeners:
          - name: %s
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
        %s    filter_chains:
        %s
          clusters:
        %s
        """.formatted(name, filters, filterChains.stripTrailing(), clusters.stripTrailing());
  }

  /** One STATIC cluster item for {@link #bootstrap}, endpoints on 127.0.0.1. */
  public static String cluster(String name, String lbPolicy, int... ports) {
    StringBuilder b = new StringBuilder();
    b.append("  - name: ").append(name).append('\n')
        .append("    connect_timeout: 1s\n")
        .append("    type: STATIC\n")
        .append("    lb_policy: ").append(lbPolicy).append('\n')
        .append("    load_assignment:\n")
        .append("      cluster_name: ").append(name).append('\n')
        .append("      endpoints:\n")
        .append("      - lb_endpoints:\n");
    for (int p : ports) {
      b.append("        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ").append(p).append(" } } }\n");
    }
    return b.toString();
  }
}
