package io.keelson.dataplane.http1;

import static io.keelson.dataplane.testing.Allocations.bytesPerCall;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.accesslog.AccessLogService;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.routing.ServingListener;
import io.keelson.dataplane.stats.IstioDestination;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "recording takes no lock and allocates nothing per request", measured: the bytes the calling
 * thread (the event loop) allocates per request for Istio's metrics, the access log hand-off and an
 * unsampled trace (its upstream {@code traceparent} written as bytes), counted by {@link com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes()}
 * around many recordings after a warm-up that lets the JIT compile them.
 */
class ObservabilityAllocationTest {

  @TempDir
  Path dir;
  private AccessLogService logs;
  private ProxyContext context;
  private ServingListener listener;
  private final Http1Request request = new Http1Request();

  @BeforeEach
  void setUp() throws Exception {
    ListenerConfig config = BootstrapLoader.fromYaml(yaml(dir.resolve("access.log")), "alloc.yaml").listeners().get(0);
    listener = new ServingListener(config, null, null);
    context = new ProxyContext(null, null, null, new StatsRegistry());
    logs = new AccessLogService(1024, java.io.OutputStream.nullOutputStream());
    context.accessLogService(logs);
    request.headers().add("host", "bench.local").add("user-agent", "wrk").add("x-request-id", "6f1e0c5b-1d2f-4c33");
  }

  @AfterEach
  void tearDown() {
    logs.close();
  }

  private static String yaml(Path accessLog) {
    return """
        static_resources:
          listeners:
          - name: bench
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: bench
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: %s
                  tracing:
                    random_sampling: { value: 0 }
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        route: { cluster: upstream }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          clusters:
          - name: upstream
            type: STATIC
            connect_timeout: 1s
            load_assignment:
              cluster_name: upstream
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9 } } }
        """.formatted(accessLog);
  }

  @Test
  void istioMetricsRecordingAllocatesNothingPerRequest() {
    IstioDestination d = new StatsRegistry().cluster("outbound|9080||reviews.default.svc.cluster.local").istio;
    long[] n = {0};
    double perRequest = bytesPerCall(() -> {
      n[0]++;
      d.record((int) (200 + (n[0] & 1) * 300), ResponseFlag.NONE, 850_000 + (n[0] & 1023) * 1000, n[0] & 255, 100);
    });
    assertThat(perRequest).as("bytes per recorded request").isLessThan(1.0);
  }

  @Test
  void metadataExchangeOnTheInboundSideAndRecordingWithThePeerAllocateNothingPerRequest() {
    StatsRegistry stats = new StatsRegistry();
    stats.identity(new io.keelson.dataplane.stats.MeshIdentity("product", "shop", "product", "v1", null));
    IstioDestination d = stats.cluster("inbound|80||").istio;
    var caller = io.keelson.dataplane.stats.PeerMetadata.of(
        new io.keelson.dataplane.stats.MeshIdentity("web", "shop", "web", "v1", null));
    var exchange = new io.keelson.dataplane.stats.PeerExchange(stats);
    var requestHeaders = new io.keelson.dataplane.http1.codec.Http1Headers();
    var responseHeaders = new io.keelson.dataplane.http1.codec.Http1Headers().add("content-length", "0");
    long[] n = {0};
    double perRequest = bytesPerCall(() -> {
      n[0]++;
      requestHeaders.add(io.keelson.dataplane.stats.PeerMetadata.ID_HEADER, caller.id());
      requestHeaders.add(io.keelson.dataplane.stats.PeerMetadata.HEADER, caller.value());
      exchange.onRequest(Http1HeaderAccess.INSTANCE, requestHeaders, "inbound|80||", false,
          "spiffe://cluster.local/ns/shop/sa/web");
      exchange.onResponse(Http1HeaderAccess.INSTANCE, responseHeaders);
      exchange.record(d, 200, ResponseFlag.NONE, 850_000 + (n[0] & 1023) * 1000, n[0] & 255, 100);
    });
    assertThat(perRequest).as("bytes per exchanged and recorded request").isLessThan(1.0);
    assertThat(requestHeaders.contains(io.keelson.dataplane.stats.PeerMetadata.HEADER)).isFalse();
  }

  @Test
  void telemetryTagOverridesEvaluatedPerRequestAllocateNothingForAValueSeenBefore() {
    StatsRegistry stats = new StatsRegistry();
    IstioDestination d = stats.cluster("inbound|80||").istio;
    var metrics = stats.istioMetrics(java.util.List.of(new io.keelson.dataplane.stats.IstioMetricsConfig.Override("",
        false, java.util.List.of("request_protocol"), java.util.Map.of(
            "request_host", io.keelson.dataplane.stats.IstioTagExpression.parse("request.host"),
            "method", io.keelson.dataplane.stats.IstioTagExpression.parse("request.method"),
            "team", io.keelson.dataplane.stats.IstioTagExpression.parse("request.headers['x-team']"),
            "zone", io.keelson.dataplane.stats.IstioTagExpression.parse("'eu-1'")))));
    var exchange = new io.keelson.dataplane.stats.PeerExchange(stats);
    var a = new io.keelson.dataplane.http1.codec.Http1Headers().add("host", "reviews").add("x-team", "a");
    var b = new io.keelson.dataplane.http1.codec.Http1Headers().add("host", "ratings").add("x-team", "b");
    String[] paths = {"/a", "/b"};
    long[] n = {0};
    double perRequest = bytesPerCall(() -> {
      n[0]++;
      var headers = (n[0] & 1) == 0 ? a : b;
      exchange.onRequest(Http1HeaderAccess.INSTANCE, headers, "inbound|80||", false, null);
      exchange.onRequestTags(metrics, Http1HeaderAccess.INSTANCE, headers, "GET", paths[(int) (n[0] & 1)], null, null);
      exchange.record(d, 200, ResponseFlag.NONE, 850_000 + (n[0] & 1023) * 1000, n[0] & 255, 100);
    });
    assertThat(perRequest).as("bytes per request with evaluated tags").isLessThan(1.0);
    assertThat(stats.toPrometheus()).contains("request_host=\"reviews\"", "request_host=\"ratings\"",
        "team=\"a\"", "zone=\"eu-1\"");
  }

  @Test
  void aNewPeerAfterMoreThanTheCacheHoldsIsDecodedOnceNotPerRequest() {
    StatsRegistry stats = new StatsRegistry();
    IstioDestination d = stats.cluster("inbound|80||").istio;
    var exchange = new io.keelson.dataplane.stats.PeerExchange(stats);
    var requestHeaders = new io.keelson.dataplane.http1.codec.Http1Headers();
    var responseHeaders = new io.keelson.dataplane.http1.codec.Http1Headers().add("content-length", "0");
    for (int i = 0; i <= io.keelson.dataplane.stats.PeerMetadataCache.MAX_ENTRIES + 100; i++) {
      var peer = io.keelson.dataplane.stats.PeerMetadata.of(
          new io.keelson.dataplane.stats.MeshIdentity("w" + i, "shop", "w", "v1", null));
      requestHeaders.add(io.keelson.dataplane.stats.PeerMetadata.HEADER, peer.value());
      exchange.onRequest(Http1HeaderAccess.INSTANCE, requestHeaders, "inbound|80||", false,
          "spiffe://cluster.local/ns/shop/sa/w" + i);
      exchange.record(d, 200, ResponseFlag.NONE, 1_000_000, 0, 0);
    }
    var late = io.keelson.dataplane.stats.PeerMetadata.of(
        new io.keelson.dataplane.stats.MeshIdentity("late", "shop", "late", "v1", null));
    double perRequest = bytesPerCall(() -> {
      requestHeaders.add(io.keelson.dataplane.stats.PeerMetadata.HEADER, late.value());
      exchange.onRequest(Http1HeaderAccess.INSTANCE, requestHeaders, "inbound|80||", false,
          "spiffe://cluster.local/ns/shop/sa/late");
      exchange.onResponse(Http1HeaderAccess.INSTANCE, responseHeaders);
      exchange.record(d, 200, ResponseFlag.NONE, 1_000_000, 0, 0);
    });
    assertThat(perRequest).as("bytes per request of a peer met past the cache's bound").isLessThan(1.0);
  }

  @Test
  void accessLogHandOffWithEnvoysDefaultFormatAllocatesNothingPerRequest() {
    ExchangeObserver observer = new ExchangeObserver(context);
    Object upstreamHost = new Object() {
      @Override
      public String toString() {
        return "127.0.0.1:9";
      }
    };
    var responseHeaders = new io.keelson.dataplane.http1.codec.Http1Headers().add("x-envoy-upstream-service-time", "1");
    var connection = new io.netty.channel.embedded.EmbeddedChannel(); // plaintext: its TLS fields are "-"
    double perRequest = bytesPerCall(() -> {
      observer.reset();
      observer.responseHead(listener, responseHeaders);
      observer.end(listener, request, "/", "HTTP/1.1", 850_000, 200, ResponseFlag.NONE, 0, 100, "upstream",
          upstreamHost, "127.0.0.1:53412", null, null, connection);
    });
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(logs.written.sum() + logs.dropped.sum()).as("records handed off").isEqualTo(io.keelson.dataplane.testing.Allocations.WARMUP + 3L * io.keelson.dataplane.testing.Allocations.N));
    assertThat(perRequest).as("bytes per logged request on the event loop").isLessThan(1.0);
  }

  @Test
  void unsampledTraceAllocatesNothingPerRequest() {
    ExchangeObserver observer = new ExchangeObserver(context);
    var tracing = listener.config().http().tracing();
    assertThat(tracing.samplingPercent()).isZero();
    TraceContext.Setter upstream = upstreamHeaders();
    double perRequest = bytesPerCall(() -> {
      observer.reset();
      request.headers().remove("traceparent"); // the next request, which came without one
      observer.trace(tracing, request, "HTTP/1.1", upstream, 0, "127.0.0.1");
    });
    assertThat(request.headers().get("traceparent")).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00");
    // The traceparent sent upstream is written from the hop's bytes (Http1Headers.setLatin1): no String.
    // Before: one String of 55 Latin-1 chars per request (96 bytes).
    assertThat(perRequest).as("bytes per unsampled traced request").isLessThan(1.0);
  }

  @Test
  void propagatingAnIncomingTraceparentAllocatesNothingPerRequest() {
    ExchangeObserver observer = new ExchangeObserver(context);
    var tracing = listener.config().http().tracing();
    String incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    TraceContext.Setter upstream = upstreamHeaders();
    double perRequest = bytesPerCall(() -> {
      observer.reset();
      request.headers().set("traceparent", incoming); // as parsed from the next request
      observer.trace(tracing, request, "HTTP/1.1", upstream, 0, "127.0.0.1");
    });
    assertThat(request.headers().get("traceparent")).matches("00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00")
        .isNotEqualTo(incoming);
    assertThat(perRequest).as("bytes per propagated unsampled request").isLessThan(1.0);
  }

  /** Sets the upstream request's headers as DownstreamHandler's setter does: bytes, no String. */
  private TraceContext.Setter upstreamHeaders() {
    return new TraceContext.Setter() {
      @Override
      public void set(String name, String value) {
        request.headers().set(name, value);
      }

      @Override
      public void setLatin1(String name, byte[] value, int length) {
        request.headers().setLatin1(name, value, length);
      }
    };
  }
}
