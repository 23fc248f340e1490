package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.telemetry.MeshTelemetry;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the mesh telemetry defaults and Istio {@code Telemetry} resources put into the listeners a sidecar receives
 * over ADS: access logs on HTTP connection managers and tcp_proxies, OpenTelemetry tracing and its collector cluster,
 * per direction (CLIENT = outbound listeners, SERVER = virtualInbound), by precedence (mesh, root namespace, namespace,
 * workload selector); proxyless gRPC clients get none of it.
 */
class TelemetryTranslationTest {
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { name: http, port: 9080 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec:
        ports: [ { name: tcp, port: 5432, protocol: TCP } ]
      """;

  @Test
  void withoutFlagsOrTelemetryNothingChanges() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      MeshResources r = resources(xds, "reviews-1");
      for (Listener l : r.listeners()) {
        for (FilterChain c : l.getFilterChainsList()) {
          assertThat(accessLogs(c)).as(l.getName()).isEmpty();
          assertThat(tracing(c)).as(l.getName()).isNull();
        }
      }
      assertThat(r.clusters()).extracting(Cluster::getName).noneMatch(n -> n.startsWith("tracing|opentelemetry|"));
    }
  }

  @Test
  void accessLogFileLogsEveryListenerOfEverySidecarButNotProxylessClients() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")));
        XdsClient proxyless = client(xds, Node.newBuilder().setId("grpc-client").setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.PROXYLESS, Value.newBuilder().setBoolValue(true).build())).build())) {
      xds.setTelemetry(MeshTelemetry.fromFlags("/var/log/mesh.log", "JSON", null, null, null, null));
      MeshResources r = resources(xds, "reviews-1");
      // virtualOutbound's passthrough (tcp_proxy), the HTTP port listener, the TCP port listener, virtualInbound.
      for (String name : List.of(CapturedListeners.VIRTUAL_OUTBOUND, "0.0.0.0_9080", "0.0.0.0_5432",
          CapturedListeners.VIRTUAL_INBOUND)) {
        for (FilterChain c : listener(r, name).getFilterChainsList()) {
          List<FileAccessLog> logs = accessLogs(c);
          assertThat(logs).as(name + " " + c.getName()).hasSize(1);
          assertThat(logs.getFirst().getPath()).isEqualTo("/var/log/mesh.log");
          assertThat(logs.getFirst().getLogFormat().getJsonFormat().getFieldsMap()).containsKeys("method", "path",
              "response_code", "upstream_cluster", "downstream_peer_uri_san");
        }
      }
      assertThat(tracing(listener(r, "0.0.0.0_9080").getFilterChains(0))).as("no tracing provider").isNull();
      MeshResources api = resources(xds, "grpc-client");
      assertThat(api.listeners()).anyMatch(Listener::hasApiListener);
      for (Listener l : api.listeners()) {
        if (!l.hasApiListener()) {
          l.getFilterChainsList().forEach(c -> assertThat(accessLogs(c)).as("proxyless " + l.getName()).isEmpty());
          continue;
        }
        HttpConnectionManager hcm = unpack(l.getApiListener().getApiListener(), HttpConnectionManager.class);
        assertThat(hcm.getAccessLogList()).as("proxyless " + l.getName()).isEmpty();
        assertThat(hcm.hasTracing()).isFalse();
      }
    }
  }

  @Test
  void workloadOverridesNamespaceWhichOverridesTheRootNamespacePerDirection() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient v1 = client(xds, capturedNode("reviews-1", Map.of("app", "reviews", "version", "v1")));
        XdsClient v2 = client(xds, capturedNode("reviews-2", Map.of("app", "reviews", "version", "v2")))) {
      // No --access-log-file: logging is off until a Telemetry turns the envoy provider on (Istio's default).
      store.apply(PolicyParser.parse("mesh.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: mesh-default, namespace: istio-system }
          spec:
            accessLogging: [ { providers: [ { name: envoy } ] } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> logged(resources(xds, "reviews-2"), "0.0.0.0_9080"));
      assertThat(logged(resources(xds, "reviews-1"), CapturedListeners.VIRTUAL_INBOUND)).isTrue();
      assertThat(accessLogs(listener(resources(xds, "reviews-1"), "0.0.0.0_9080").getFilterChains(0)).getFirst()
          .getPath()).as("the envoy provider without --access-log-file").isEqualTo("/dev/stdout");

      // The namespace turns logs off; the v1 workload turns its inbound (SERVER) side back on.
      var quiet = PolicyParser.parse("ns.yaml", """
          apiVersion: telemetry.istio.io/v1alpha1
          kind: Telemetry
          metadata: { name: quiet, namespace: default }
          spec:
            accessLogging: [ { disabled: true } ]
          ---
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: v1-inbound, namespace: default }
          spec:
            selector: { matchLabels: { version: v1 } }
            accessLogging: [ { providers: [ { name: envoy } ], match: { mode: SERVER } } ]
          """).policies();
      PolicyStore.Change dryRun = store.apply(quiet, true);
      assertThat(xds.changedFor(dryRun.before(), dryRun.after())).as("a dry run names the proxies a Telemetry reaches")
          .containsEntry("reviews-1", List.of("listeners")).containsEntry("reviews-2", List.of("listeners"));
      store.apply(quiet, false);
      await().atMost(Duration.ofSeconds(10)).until(() -> !logged(resources(xds, "reviews-2"), "0.0.0.0_9080"));
      assertThat(logged(resources(xds, "reviews-2"), CapturedListeners.VIRTUAL_INBOUND)).isFalse();
      MeshResources r1 = resources(xds, "reviews-1");
      assertThat(logged(r1, CapturedListeners.VIRTUAL_INBOUND)).as("v1 SERVER").isTrue();
      assertThat(logged(r1, "0.0.0.0_9080")).as("v1 CLIENT stays off (namespace)").isFalse();
      assertThat(logged(r1, CapturedListeners.VIRTUAL_OUTBOUND)).isFalse();
      assertThat(logged(r1, "0.0.0.0_5432")).isFalse();
    }
  }

  @Test
  void accessLogFilterExpressionsAreSentAsIstiodsCelFilterOnEveryAccessLogWithPrecedence() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient v1 = client(xds, capturedNode("reviews-1", Map.of("app", "reviews", "version", "v1")));
        XdsClient v2 = client(xds, capturedNode("reviews-2", Map.of("app", "reviews", "version", "v2")))) {
      store.apply(PolicyParser.parse("mesh.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: mesh-default, namespace: istio-system }
          spec:
            accessLogging: [ { providers: [ { name: envoy } ], filter: { expression: "response.code >= 400" } } ]
          ---
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: v1, namespace: default }
          spec:
            selector: { matchLabels: { version: v1 } }
            accessLogging:
            - match: { mode: SERVER }
              filter: { expression: "request.headers['x-user'] == 'alice'" }
            - match: { mode: CLIENT }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> logged(resources(xds, "reviews-2"), "0.0.0.0_9080"));
      // every access log of every chain (HCM and tcp_proxy, both directions): istiod's extension filter
      for (String name : List.of(CapturedListeners.VIRTUAL_OUTBOUND, "0.0.0.0_9080", "0.0.0.0_5432",
          CapturedListeners.VIRTUAL_INBOUND)) {
        for (FilterChain c : listener(resources(xds, "reviews-2"), name).getFilterChainsList()) {
          assertThat(celFilters(c)).as("v2 " + name + " " + c.getName()).containsExactly("response.code >= 400");
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> celFilters(listener(resources(xds, "reviews-1"),
          CapturedListeners.VIRTUAL_INBOUND).getFilterChains(0)).equals(List.of("request.headers['x-user'] == 'alice'")));
      assertThat(celFilters(listener(resources(xds, "reviews-1"), "0.0.0.0_9080").getFilterChains(0)))
          .as("an entry without a filter keeps the root's").containsExactly("response.code >= 400");
    }
  }

  /** The CEL expressions of the chain's access logs (none for a log without a filter). */
  private static List<String> celFilters(FilterChain c) {
    var f = c.getFiltersList().getLast();
    var logs = f.getName().equals(TelemetryListeners.HCM)
        ? unpack(f.getTypedConfig(), HttpConnectionManager.class).getAccessLogList()
        : unpack(f.getTypedConfig(), TcpProxy.class).getAccessLogList();
    return logs.stream().filter(l -> l.hasFilter()).map(l -> {
      assertThat(l.getFilter().getExtensionFilter().getName()).isEqualTo("envoy.access_loggers.extension_filters.cel");
      return unpack(l.getFilter().getExtensionFilter().getTypedConfig(),
          io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter.class).getExpression();
    }).toList();
  }

  @Test
  void tracingUsesTheProviderItsSamplingAndDisableSpanReportingPerDirection() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", "otel", "5"));
      MeshResources r = resources(xds, "reviews-1");
      HttpConnectionManager.Tracing out = tracing(listener(r, "0.0.0.0_9080").getFilterChains(0));
      assertThat(out).as("mesh default tracing").isNotNull();
      assertThat(out.getRandomSampling().getValue()).isEqualTo(5.0);
      OpenTelemetryConfig otel = unpack(out.getProvider().getTypedConfig(), OpenTelemetryConfig.class);
      assertThat(otel.getGrpcService().getEnvoyGrpc().getClusterName()).isEqualTo("tracing|opentelemetry|otel");
      assertThat(otel.getServiceName()).isEqualTo("reviews.default");
      Cluster collector = r.clusters().stream().filter(c -> c.getName().equals("tracing|opentelemetry|otel")).findFirst()
          .orElseThrow();
      assertThat(collector.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
      assertThat(collector.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
          .getSocketAddress().getPortValue()).isEqualTo(4317);
      assertThat(accessLogs(listener(r, "0.0.0.0_9080").getFilterChains(0))).as("no access log by default").isEmpty();

      store.apply(PolicyParser.parse("tracing.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: mesh-default, namespace: istio-system }
          spec:
            tracing: [ { randomSamplingPercentage: 50 } ]
          ---
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: reviews, namespace: default }
          spec:
            selector: { matchLabels: { app: reviews } }
            tracing: [ { disableSpanReporting: true, match: { mode: CLIENT } } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> tracing(listener(resources(xds, "reviews-1"), "0.0.0.0_9080")
          .getFilterChains(0)) == null);
      MeshResources after = resources(xds, "reviews-1");
      for (FilterChain c : listener(after, CapturedListeners.VIRTUAL_INBOUND).getFilterChainsList()) {
        if (c.getName().startsWith("inbound|")) {
          assertThat(tracing(c).getRandomSampling().getValue()).as("SERVER keeps the root's 50%").isEqualTo(50.0);
        }
      }
      assertThat(after.clusters()).extracting(Cluster::getName).contains("tracing|opentelemetry|otel");
    }
  }

  @Test
  void aZipkinProviderIsIstiodsZipkinTracerWithTheOutboundListenersTheClientSide() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags(null, null, null, null, "127.0.0.1:9411", null, "100"));
      MeshResources r = resources(xds, "reviews-1");
      Listener outbound = listener(r, "0.0.0.0_9080");
      Listener inbound = listener(r, CapturedListeners.VIRTUAL_INBOUND);
      HttpConnectionManager.Tracing out = tracing(outbound.getFilterChains(0));
      assertThat(out.getProvider().getName()).isEqualTo("envoy.tracers.zipkin");
      ZipkinConfig z = unpack(out.getProvider().getTypedConfig(), ZipkinConfig.class);
      assertThat(z.getCollectorCluster()).isEqualTo("tracing|zipkin|zipkin");
      assertThat(z.getCollectorEndpoint()).isEqualTo("/api/v2/spans");
      assertThat(z.getCollectorEndpointVersion()).isEqualTo(ZipkinConfig.CollectorEndpointVersion.HTTP_JSON);
      assertThat(z.getTraceId128Bit()).isTrue();
      assertThat(z.hasSharedSpanContext()).isTrue();
      assertThat(z.getSharedSpanContext().getValue()).isFalse();
      assertThat(z.getCollectorHostname()).isEqualTo("127.0.0.1");
      assertThat(outbound.getTrafficDirection()).isEqualTo(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND);
      assertThat(inbound.getTrafficDirection()).isEqualTo(io.envoyproxy.envoy.config.core.v3.TrafficDirection.INBOUND);
      Cluster collector = r.clusters().stream().filter(c -> c.getName().equals("tracing|zipkin|zipkin")).findFirst().orElseThrow();
      assertThat(collector.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
          .getSocketAddress().getPortValue()).isEqualTo(9411);

      var snapshot = dataPlane(r);
      assertThat(snapshot.warnings()).isEmpty();
      var http = snapshot.listeners().stream().flatMap(l -> l.withChains().stream()).filter(l -> l.http() != null).toList();
      assertThat(http).isNotEmpty().allSatisfy(l -> {
        assertThat(l.http().tracing().zipkin()).as(l.name()).isNotNull();
        assertThat(l.http().tracing().collectorCluster()).isEqualTo("tracing|zipkin|zipkin");
        assertThat(l.http().tracing().egress()).as(l.name()).isEqualTo(!l.name().startsWith(CapturedListeners.VIRTUAL_INBOUND));
      });
      assertThat(http).anyMatch(l -> l.http().tracing().egress()).anyMatch(l -> !l.http().tracing().egress());

      assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, "127.0.0.1:4317", "127.0.0.1:9411", null, null))
          .hasMessageContaining("--tracing-otlp and --tracing-zipkin");
      assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, null, "zipkin:0", null, null))
          .hasMessageContaining("--tracing-zipkin 'zipkin:0'");
    }
  }

  @Test
  void theCollectorClusterNeverCollidesWithAServicesSubsetCluster() throws Exception {
    // A Service named zipkin with a subset named zipkin has the cluster zipkin|zipkin: the collector's is another name.
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: zipkin }
        spec: { ports: [ { name: http, port: 9411 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: zipkin }
        spec: { host: zipkin, subsets: [ { name: zipkin, labels: { version: v1 } } ] }
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags(null, null, null, null, "127.0.0.1:9411", null, "100"));
      List<String> names = resources(xds, "reviews-1").clusters().stream().map(Cluster::getName).toList();
      assertThat(names).contains("zipkin|zipkin", "tracing|zipkin|zipkin").doesNotHaveDuplicates();
    }
    assertThatThrownBy(() -> PolicyParser.parse("dr.yaml", """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: zipkin }
        spec: { host: zipkin, subsets: [ { name: "v1|zipkin", labels: { version: v1 } } ] }
        """)).hasMessageContaining("subsets[0].name").hasMessageContaining("is not a DNS-1123 label");
  }

  @Test
  void aMeshConfigZipkinProviderTracesWhereTelemetryNamesItOrEverywhereAsADefaultProvider() throws Exception {
    String provider = """
        extensionProviders:
        - name: zipkin
          zipkin: { service: zipkin.istio-system.svc.cluster.local, port: 9411, maxTagLength: 100 }
        """;
    io.keelson.control.api.MeshConfigFile named = io.keelson.control.api.MeshConfigFile.parse("mesh.yaml", provider);
    assertThat(named.tracingByDefault()).isFalse();
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.OFF.withTracingProvider(named.tracing(), named.tracingByDefault()));
      assertThat(tracing(listener(resources(xds, "reviews-1"), "0.0.0.0_9080").getFilterChains(0)))
          .as("not a default provider: no tracing until a Telemetry names it").isNull();
      store.apply(PolicyParser.parse("tracing.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: mesh-default, namespace: istio-system }
          spec:
            tracing: [ { providers: [ { name: zipkin } ], randomSamplingPercentage: 10 } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> tracing(listener(resources(xds, "reviews-1"), "0.0.0.0_9080")
          .getFilterChains(0)) != null);
      MeshResources r = resources(xds, "reviews-1");
      HttpConnectionManager.Tracing t = tracing(listener(r, "0.0.0.0_9080").getFilterChains(0));
      assertThat(t.getMaxPathTagLength().getValue()).isEqualTo(100);
      assertThat(t.getRandomSampling().getValue()).isEqualTo(10.0);
      ZipkinConfig z = unpack(t.getProvider().getTypedConfig(), ZipkinConfig.class);
      assertThat(z.getCollectorHostname()).isEqualTo("zipkin.istio-system.svc.cluster.local");
      Cluster collector = r.clusters().stream().filter(c -> c.getName().equals("tracing|zipkin|zipkin")).findFirst().orElseThrow();
      assertThat(collector.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
      assertThat(dataPlane(r).warnings()).isEmpty();
    }
    var byDefault = io.keelson.control.api.MeshConfigFile.parse("mesh.yaml", provider + """
        defaultProviders: { tracing: [ zipkin ] }
        """);
    assertThat(byDefault.tracingByDefault()).isTrue();
    assertThat(MeshTelemetry.OFF.withTracingProvider(byDefault.tracing(), true).tracingByDefault()).isTrue();
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("mesh.yaml", provider + """
        defaultProviders: { tracing: [ otel ] }
        """)).hasMessageContaining("mesh.yaml: defaultProviders.tracing[0]: 'otel' is not this file's zipkin provider");
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("mesh.yaml", provider.replace("maxTagLength: 100",
        "traceContextOption: USE_B3_WITH_W3C_PROPAGATION")))
        .hasMessageContaining("mesh.yaml: extensionProviders[0].zipkin.traceContextOption: 'USE_B3_WITH_W3C_PROPAGATION'"
            + " is not supported");
    assertThatThrownBy(() -> io.keelson.control.api.MeshConfigFile.parse("mesh.yaml", provider.replace("maxTagLength: 100",
        "enable64bitTraceId: true"))).hasMessageContaining("extensionProviders[0].zipkin.enable64bitTraceId: not supported");
    assertThatThrownBy(() -> MeshTelemetry.fromFlags(null, null, null, null, "127.0.0.1:9411", null, null)
        .withTracingProvider(named.tracing(), false))
        .hasMessageContaining("--tracing-zipkin and --mesh-config extensionProviders 'zipkin': expected one tracing provider");
  }

  @Test
  void aRegistryServiceCollectorIsAStaticClusterOfItsWorkloads() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES + """
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: otel-collector }
        spec:
          ports: [ { name: grpc, port: 4317 } ]
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: collector-1 }
        spec: { service: otel-collector, address: 127.0.0.9, port: 14317 }
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags(null, null, null, "otel-collector", "collector", "100"));
      Cluster c = resources(xds, "reviews-1").clusters().stream()
          .filter(x -> x.getName().equals("tracing|opentelemetry|collector")).findFirst().orElseThrow();
      var address = c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress();
      assertThat(address.getAddress() + ":" + address.getPortValue()).isEqualTo("127.0.0.9:14317");
      List<Listener> listeners = resources(xds, "reviews-1").listeners();

      // A second collector workload: the cluster follows; the listeners, unchanged, are not rewritten again.
      store.apply(PolicyParser.parse("collector-2.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: collector-2 }
          spec: { service: otel-collector, address: 127.0.0.10, port: 14317 }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> resources(xds, "reviews-1").clusters().stream()
          .filter(x -> x.getName().equals("tracing|opentelemetry|collector"))
          .anyMatch(x -> x.getLoadAssignment().getEndpoints(0).getLbEndpointsCount() == 2));
      assertThat(resources(xds, "reviews-1").listeners()).isSameAs(listeners);
    }
  }

  @Test
  void theDataPlaneAcceptsEveryTelemeteredListenerWithoutAWarning() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags("/tmp/access.log", "TEXT", null, "127.0.0.1:4317", null, "100"));
      MeshResources r = resources(xds, "reviews-1");
      var snapshot = dataPlane(r);
      assertThat(snapshot.warnings()).isEmpty();
      var all = snapshot.listeners().stream().flatMap(l -> l.withChains().stream())
          .filter(l -> l.http() != null || l.tcpProxy() != null).toList();
      assertThat(all).isNotEmpty().allSatisfy(l -> {
        var logs = l.http() != null ? l.http().accessLogs() : l.tcpProxy().accessLogs();
        assertThat(logs).as(l.name()).singleElement().satisfies(c -> {
          assertThat(c.path()).isEqualTo("/tmp/access.log");
          assertThat(c.textFormat()).isEqualTo(MeshTelemetry.DEFAULT_TEXT_FORMAT);
        });
        if (l.http() != null) {
          assertThat(l.http().tracing()).as(l.name()).isNotNull();
          assertThat(l.http().tracing().collectorCluster()).isEqualTo("tracing|opentelemetry|otel");
          assertThat(l.http().tracing().samplingPercent()).isEqualTo(100.0);
        }
      });
      assertThat(all).anyMatch(l -> l.tcpProxy() != null).anyMatch(l -> l.http() != null);
      assertThat(snapshot.cluster("tracing|opentelemetry|otel").endpoints()).hasSize(1);
    }
  }

  @Test
  void metricsOverridesBecomeIstioStatsPerDirectionAndTheDataPlaneReadsThem() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("services.yaml", SERVICES + """
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: mesh-default, namespace: istio-system }
        spec:
          metrics:
          - overrides:
            - tagOverrides: { request_protocol: { operation: REMOVE }, request_host: { value: request.host } }
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: { name: reviews, namespace: default }
        spec:
          selector: { matchLabels: { app: reviews } }
          metrics:
          - overrides:
            - match: { metric: REQUEST_COUNT, mode: SERVER }
              disabled: true
            - match: { metric: TCP_OPENED_CONNECTIONS, mode: SERVER }
              disabled: true
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient sidecar = client(xds, capturedNode("reviews-1", Map.of("app", "reviews")))) {
      MeshResources r = resources(xds, "reviews-1");
      Struct inbound = null;
      for (String name : List.of(CapturedListeners.VIRTUAL_OUTBOUND, "0.0.0.0_9080", "0.0.0.0_5432",
          CapturedListeners.VIRTUAL_INBOUND)) {
        for (FilterChain c : listener(r, name).getFilterChainsList()) {
          var last = c.getFiltersList().getLast();
          Struct stats;
          if (last.getName().equals(TelemetryListeners.HCM)) {
            var filters = unpack(last.getTypedConfig(), HttpConnectionManager.class).getHttpFiltersList();
            assertThat(filters.get(filters.size() - 2).getName()).as(name + ": before the router").isEqualTo("istio.stats");
            stats = pluginConfig(filters.get(filters.size() - 2).getTypedConfig());
          } else {
            var filters = c.getFiltersList();
            assertThat(filters.get(filters.size() - 2).getName()).as(name + ": before the tcp_proxy").isEqualTo("istio.stats");
            stats = pluginConfig(filters.get(filters.size() - 2).getTypedConfig());
          }
          if (name.equals(CapturedListeners.VIRTUAL_INBOUND) && last.getName().equals(TelemetryListeners.HCM)) {
            inbound = stats;
          }
          if (!name.equals(CapturedListeners.VIRTUAL_INBOUND)) {
            assertThat(stats.toString()).as(name + ": CLIENT has no drop").doesNotContain("drop");
          }
        }
      }
      assertThat(inbound).isNotNull();
      List<Value> metrics = inbound.getFieldsOrThrow("metrics").getListValue().getValuesList();
      assertThat(metrics.stream().map(m -> m.getStructValue().getFieldsOrThrow("name").getStringValue()))
          .contains("requests_total", "request_duration_milliseconds", "tcp_connections_opened_total");
      Struct requests = metrics.stream().map(Value::getStructValue)
          .filter(m -> m.getFieldsOrThrow("name").getStringValue().equals("requests_total")).findFirst().orElseThrow();
      assertThat(requests.getFieldsOrThrow("drop").getBoolValue()).isTrue();
      Struct duration = metrics.stream().map(Value::getStructValue)
          .filter(m -> m.getFieldsOrThrow("name").getStringValue().equals("request_duration_milliseconds"))
          .findFirst().orElseThrow();
      assertThat(duration.getFieldsOrThrow("tags_to_remove").getListValue().getValues(0).getStringValue())
          .isEqualTo("request_protocol");
      assertThat(duration.getFieldsOrThrow("dimensions").getStructValue().getFieldsOrThrow("request_host").getStringValue())
          .isEqualTo("request.host");

      var snapshot = dataPlane(r);
      assertThat(snapshot.warnings()).isEmpty();
      var all = snapshot.listeners().stream().flatMap(l -> l.withChains().stream())
          .filter(l -> l.http() != null || l.tcpProxy() != null).toList();
      assertThat(all).isNotEmpty().allSatisfy(l -> {
        if (l.http() != null) {
          assertThat(l.http().httpFilters()).as(l.name()).anyMatch(f -> f.name().equals("istio.stats"));
        } else {
          assertThat(l.tcpProxy().istioMetrics()).as(l.name()).isNotEmpty();
        }
      });
      assertThat(all).anyMatch(l -> l.tcpProxy() != null).anyMatch(l -> l.http() != null);

      store.delete("Telemetry", "istio-system", "mesh-default", false);
      store.delete("Telemetry", "default", "reviews", false);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(xds.resourcesFor("reviews-1").listeners()
          .toString()).doesNotContain("istio.stats"));
    }
  }

  /** {@code r} as the data plane translates it. */
  private static io.keelson.dataplane.config.ProxySnapshot dataPlane(MeshResources r) throws Exception {
    Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new java.util.HashMap<>();
    r.routes().forEach(rc -> routes.put(rc.getName(), rc));
    Map<String, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints = new java.util.HashMap<>();
    r.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    return io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
        io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), r.listeners(), routes,
        r.clusters(), endpoints);
  }

  private static Struct pluginConfig(com.google.protobuf.Any any) {
    com.github.xds.type.v3.TypedStruct ts = unpack(any, com.github.xds.type.v3.TypedStruct.class);
    assertThat(ts.getTypeUrl()).isEqualTo("type.googleapis.com/stats.PluginConfig");
    return ts.getValue();
  }

  @Test
  void aGatewaysHttpAndTcpServersRunTheClientSideAndATelemetrySelectingItsLabelsOverridesIt() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", SERVICES + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 8080, name: http, protocol: HTTP }
            hosts: [ shop.example.com ]
          - port: { number: 5432, name: tcp, protocol: TCP }
            hosts: [ "*" ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com ]
          gateways: [ edge ]
          http: [ { route: [ { destination: { host: reviews } } ] } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: db }
        spec:
          hosts: [ "*" ]
          gateways: [ edge ]
          tcp: [ { match: [ { port: 5432 } ], route: [ { destination: { host: db } } ] } ]
        """).policies(), false);
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
        XdsClient gateway = client(xds, gatewayNode("edge-1", Map.of("istio", "ingressgateway")))) {
      xds.setTelemetry(MeshTelemetry.fromFlags("/var/log/mesh.log", "JSON", null, "127.0.0.1:4317", null, "100"));
      // SERVER-only entries reach no gateway listener: both of its listeners keep the mesh's log and tracing.
      store.apply(PolicyParser.parse("t.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: no-server-side, namespace: default }
          spec:
            accessLogging: [ { match: { mode: SERVER }, disabled: true } ]
            tracing: [ { match: { mode: SERVER }, disableSpanReporting: true } ]
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        MeshResources r = resources(xds, "edge-1");
        assertThat(r.listeners()).extracting(Listener::getName).containsExactlyInAnyOrder("0.0.0.0_8080", "0.0.0.0_5432");
        FilterChain http = listener(r, "0.0.0.0_8080").getFilterChains(0);
        assertThat(accessLogs(http)).extracting(FileAccessLog::getPath).containsExactly("/var/log/mesh.log");
        assertThat(tracing(http)).as("the gateway's HTTP server is traced").isNotNull();
        assertThat(unpack(tracing(http).getProvider().getTypedConfig(), OpenTelemetryConfig.class).getServiceName())
            .isEqualTo("edge-1.default");
        assertThat(listener(r, "0.0.0.0_5432").getFilterChainsList()).allSatisfy(c ->
            assertThat(accessLogs(c)).as("the gateway's TCP server's tcp_proxy").hasSize(1));
        assertThat(r.clusters()).extracting(Cluster::getName).anyMatch(n -> n.startsWith("tracing|opentelemetry|"));
      });
      // CLIENT entries of a Telemetry selecting the gateway's labels turn its log and spans off; a dry run names it.
      var quiet = PolicyParser.parse("t.yaml", """
          apiVersion: telemetry.istio.io/v1
          kind: Telemetry
          metadata: { name: quiet-edge, namespace: default }
          spec:
            selector: { matchLabels: { istio: ingressgateway } }
            accessLogging: [ { match: { mode: CLIENT }, disabled: true } ]
            tracing: [ { match: { mode: CLIENT }, disableSpanReporting: true } ]
          """).policies();
      PolicyStore.Change dryRun = store.apply(quiet, true);
      assertThat(xds.changedFor(dryRun.before(), dryRun.after())).as("a dry run names the gateway a Telemetry reaches")
          .containsEntry("edge-1", List.of("listeners", "clusters"));
      store.apply(quiet, false);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        MeshResources r = resources(xds, "edge-1");
        assertThat(logged(r, "0.0.0.0_8080")).isFalse();
        assertThat(logged(r, "0.0.0.0_5432")).isFalse();
        assertThat(tracing(listener(r, "0.0.0.0_8080").getFilterChains(0))).isNull();
        assertThat(r.clusters()).extracting(Cluster::getName).noneMatch(n -> n.startsWith("tracing|opentelemetry|"));
      });
    }
  }

  /** A gateway node without identity (namespace {@code default}) binding its servers on 0.0.0.0. */
  private static Node gatewayNode(String id, Map<String, String> labels) {
    Struct.Builder l = Struct.newBuilder();
    labels.forEach((k, v) -> l.putFields(k, str(v)));
    return Node.newBuilder().setId(id).setCluster(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(l).build()))
        .build();
  }

  private static boolean logged(MeshResources r, String listener) {
    return listener(r, listener).getFilterChainsList().stream().anyMatch(c -> !accessLogs(c).isEmpty());
  }

  private static MeshResources resources(XdsServer xds, String node) {
    await().atMost(Duration.ofSeconds(10)).until(() -> xds.resourcesFor(node) != null);
    return xds.resourcesFor(node);
  }

  static Listener listener(MeshResources r, String name) {
    return r.listeners().stream().filter(l -> l.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no listener " + name + " in " + r.listeners().stream()
            .map(Listener::getName).toList()));
  }

  /** The file access logs of the chain's HCM or tcp_proxy. */
  static List<FileAccessLog> accessLogs(FilterChain c) {
    var f = c.getFiltersList().getLast();
    var logs = f.getName().equals(TelemetryListeners.HCM)
        ? unpack(f.getTypedConfig(), HttpConnectionManager.class).getAccessLogList()
        : unpack(f.getTypedConfig(), TcpProxy.class).getAccessLogList();
    return logs.stream().map(l -> unpack(l.getTypedConfig(), FileAccessLog.class)).toList();
  }

  static HttpConnectionManager.Tracing tracing(FilterChain c) {
    var f = c.getFiltersList().getLast();
    if (!f.getName().equals(TelemetryListeners.HCM)) {
      return null;
    }
    HttpConnectionManager hcm = unpack(f.getTypedConfig(), HttpConnectionManager.class);
    return hcm.hasTracing() ? hcm.getTracing() : null;
  }

  private static <T extends com.google.protobuf.Message> T unpack(com.google.protobuf.Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static Node capturedNode(String id, Map<String, String> labels) {
    Struct.Builder l = Struct.newBuilder();
    labels.forEach((k, v) -> l.putFields(k, str(v)));
    String address = "10.1.0." + id.substring(id.length() - 1);
    return Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
            .putFields(NodeRegistration.SERVICE, str("reviews"))
            .putFields(NodeRegistration.ADDRESS, str(address))
            .putFields(NodeRegistration.PORT, num(9080))
            .putFields(NodeRegistration.APP_PORT, num(9080))
            .putFields(NodeRegistration.CAPTURE, str("iptables"))
            .putFields(NodeRegistration.INBOUND_PORT, num(15006))
            .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(l).build()))
        .build();
  }

  private static XdsClient client(XdsServer xds, Node node) {
    return XdsClient.start(XdsClientConfig.of("127.0.0.1", xds.port(), false, node)
        .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { });
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value num(int n) {
    return Value.newBuilder().setNumberValue(n).build();
  }

  @Test
  void theCollectorsClusterIsStaticOnlyForAnIpAddressAndTheDataPlaneTakesIt() throws Exception {
    record Case(String flag, Cluster.DiscoveryType type, String address) {}
    for (Case c : List.of(
        new Case("127.0.0.1:4317", Cluster.DiscoveryType.STATIC, "127.0.0.1"),
        new Case("[::1]:4317", Cluster.DiscoveryType.STATIC, "::1"), // a URL's IPv6 form, brackets off
        new Case("999.0.0.1:4317", Cluster.DiscoveryType.STRICT_DNS, "999.0.0.1"), // digits and dots, no address
        new Case("otel.example.com:4317", Cluster.DiscoveryType.STRICT_DNS, "otel.example.com"))) {
      MeshTelemetry.TracingProvider p = MeshTelemetry.fromFlags(null, null, null, c.flag(), null, null).tracingProvider();
      Cluster collector = TelemetryListeners.collector(p, List.of());
      assertThat(collector.getType()).as(c.flag()).isEqualTo(c.type());
      assertThat(collector.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
          .getSocketAddress().getAddress()).as(c.flag()).isEqualTo(c.address());
      // The data plane refuses a STATIC cluster whose address is no IP address (the whole CDS update NACKed).
      var snapshot = io.keelson.dataplane.config.envoy.XdsSnapshotTranslator.translate("test",
          io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap.StaticResources.getDefaultInstance(), List.of(), Map.of(),
          List.of(collector), Map.of());
      assertThat(snapshot.warnings()).as(c.flag()).isEmpty();
      assertThat(snapshot.clusters()).as(c.flag()).containsKey("tracing|opentelemetry|otel");
    }
  }

}
