package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster {@code transport_socket_matches} as Envoy runs them (Istio's auto mTLS shape): in one cluster, TLS to the
 * endpoints whose {@code envoy.transport_socket_match} metadata says {@code tlsMode: istio}, plaintext to the rest,
 * through a running proxy against a real TLS server and a real plaintext one.
 */
class TransportSocketMatchProxyTest {
  static TestCa ca;
  @TempDir static Path dir;
  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("keelson-test-ca");
    ca.write(dir, "ca.crt");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  /** Cluster "backend": {@code tlsPort} labelled tlsMode istio (TLS checking DNS SAN {@code san}), {@code plainPort} not. */
  private static String cluster(int tlsPort, int plainPort, String san) {
    return """
          - name: backend
            connect_timeout: 2s
            type: STATIC
            lb_policy: ROUND_ROBIN
            transport_socket_matches:
            - name: tlsMode-istio
              match: { tlsMode: istio }
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  common_tls_context:
                    validation_context:
                      trusted_ca: { filename: "%s" }
                      match_typed_subject_alt_names:
                      - san_type: DNS
                        matcher: { exact: %s }
            - name: tlsMode-disabled
              match: {}
              transport_socket:
                name: envoy.transport_sockets.raw_buffer
                typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
            load_assignment:
              cluster_name: backend
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
                  metadata: { filter_metadata: { envoy.transport_socket_match: { tlsMode: istio } } }
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        """.formatted(dir.resolve("ca.crt"), san, tlsPort, plainPort);
  }

  private static List<Integer> statuses(int port, int n) throws Exception {
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/r" + i))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
    }
    return out;
  }

  @Test
  void endpointsLabelledIstioGetTlsAndTheRestPlaintextInOneCluster() throws Exception {
    TestCa.Leaf backend = ca.issue("backend", "backend.test");
    TestUpstream tlsUp = proxies.keep(new TestUpstream("tls", SslContextBuilder.forServer(backend.key(), backend.cert()).build()));
    TestUpstream plainUp = proxies.keep(new TestUpstream("plain"));
    ProxyServer p = proxies.start(ProxyHarness.bootstrap(ProxyHarness.allTo("backend"),
        cluster(tlsUp.port(), plainUp.port(), "backend.test")), 1);

    assertThat(statuses(p.listenerAddress("ingress").getPort(), 6)).containsOnly(200);
    // Round robin over both: each served its half, the TLS one over one kept-alive TLS connection.
    assertThat(tlsUp.requests.get()).isEqualTo(3);
    assertThat(plainUp.requests.get()).isEqualTo(3);
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.handshake: 1");
  }

  /**
   * Istio's auto mTLS with a retry: the mesh (ALPN istio) endpoint answers 503, the retry goes to the plaintext one.
   * Each try decides the metadata exchange by its own endpoint's socket: the mesh try carries this workload's
   * x-envoy-peer-metadata, the plaintext try never does (on HTTP/1.1 and HTTP/2 downstreams alike).
   */
  @Test
  void theMetadataExchangeIsDecidedPerTryByTheTriedEndpointsSocket() throws Exception {
    TestCa.Leaf backend = ca.issue("backend", "backend.test");
    TestUpstream tlsUp = proxies.keep(new TestUpstream("tls", SslContextBuilder.forServer(backend.key(), backend.cert()).build()));
    tlsUp.forceStatus = 503;
    TestUpstream plainUp = proxies.keep(new TestUpstream("plain"));
    java.util.concurrent.CopyOnWriteArrayList<String> plainSaw = new java.util.concurrent.CopyOnWriteArrayList<>();
    String clusters = cluster(tlsUp.port(), plainUp.port(), "backend.test").replace("""
                  common_tls_context:
        """, """
                  common_tls_context:
                    alpn_protocols: [istio, http/1.1]
        """);
    String retrying = ProxyHarness.allTo("backend").replace("route: { cluster: backend }",
        "route: { cluster: backend, retry_policy: { retry_on: 5xx, num_retries: 2 } }");
    ProxyServer p = proxies.start(ProxyHarness.bootstrap(retrying, clusters), 1);
    int port = p.listenerAddress("ingress").getPort();

    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    for (int i = 0; i < 4; i++) {
      HttpResponse<Void> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/h1-" + i))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
      assertThat(r.statusCode()).isEqualTo(200);
      plainSaw.add(String.valueOf(plainUp.lastHeaders.keySet()));
    }
    for (int i = 0; i < 4; i++) {
      Process curl = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge",
          "--max-time", "10", "http://127.0.0.1:" + port + "/h2-" + i).redirectErrorStream(true).start();
      assertThat(new String(curl.getInputStream().readAllBytes())).isEqualTo("200");
      plainSaw.add(String.valueOf(plainUp.lastHeaders.keySet()));
    }

    assertThat(tlsUp.requests.get()).as("some first tries went to the mesh endpoint").isPositive();
    assertThat(tlsUp.lastHeaders).as("the mesh try exchanged").containsKey("x-envoy-peer-metadata");
    assertThat(plainSaw).as("no plaintext try carried the exchange").hasSize(8)
        .noneMatch(h -> h.contains("x-envoy-peer-metadata"));
  }

  @Test
  void aSanMismatchFailsOnlyTheTlsEndpoint() throws Exception {
    TestCa.Leaf other = ca.issue("backend", "someone-else.test");
    TestUpstream tlsUp = proxies.keep(new TestUpstream("tls", SslContextBuilder.forServer(other.key(), other.cert()).build()));
    TestUpstream plainUp = proxies.keep(new TestUpstream("plain"));
    ProxyServer p = proxies.start(ProxyHarness.bootstrap(ProxyHarness.allTo("backend"),
        cluster(tlsUp.port(), plainUp.port(), "backend.test")), 1);

    List<Integer> got = statuses(p.listenerAddress("ingress").getPort(), 6);
    assertThat(got).containsOnly(200, 503);
    assertThat(got.stream().filter(s -> s == 200).count()).isEqualTo(plainUp.requests.get());
    assertThat(plainUp.requests.get()).isPositive();
    assertThat(tlsUp.requests.get()).isZero();
    assertThat(RunningProxies.admin(p, "/stats")).contains("cluster.backend.ssl.fail_verify_san:");
  }

  @Test
  void anEndpointTakesTheFirstMatchByItsOwnThenItsLocalitysMetadataElseTheClustersSocket() throws Exception {
    String yaml = ProxyHarness.bootstrap(ProxyHarness.allTo("backend"), """
          - name: backend
            type: STATIC
            transport_socket_matches:
            - name: istio
              match: { tlsMode: istio }
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext }
            - name: plain-zone
              match: { zone: plain }
              transport_socket:
                name: envoy.transport_sockets.raw_buffer
                typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, sni: default.test }
            load_assignment:
              cluster_name: backend
              endpoints:
              - metadata: { filter_metadata: { envoy.transport_socket_match: { zone: plain } } }
                lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1001 } } }
                  metadata: { filter_metadata: { envoy.transport_socket_match: { tlsMode: istio, other: x } } }
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1002 } } }
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1003 } } }
                  metadata: { filter_metadata: { envoy.transport_socket_match: { tlsMode: disabled } } }
        """);
    ClusterConfig c = BootstrapLoader.fromYaml(yaml, "matches.yaml").clusters().get("backend");
    List<EndpointConfig> eps = c.endpoints();
    assertThat(eps).extracting(EndpointConfig::transportSocket).containsExactly(0, 1, EndpointConfig.CLUSTER_SOCKET);
    assertThat(c.tls(eps.get(0))).isNotNull().isSameAs(c.transportSocketMatches().get(0).tls());
    assertThat(c.tls(eps.get(1))).as("raw_buffer").isNull();
    assertThat(c.tls(eps.get(2))).isSameAs(c.tls());
    assertThat(c.tls().config().sni()).isEqualTo("default.test");
  }

  @Test
  void aMatchWithoutNameOrSocketIsRefusedByPath() {
    String yaml = ProxyHarness.bootstrap(ProxyHarness.allTo("backend"), """
          - name: backend
            type: STATIC
            transport_socket_matches:
            - match: { tlsMode: istio }
            load_assignment:
              cluster_name: backend
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1001 } } }
        """);
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(yaml, "bad.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("static_resources.clusters[0].transport_socket_matches[0].name")
        .hasMessageContaining("static_resources.clusters[0].transport_socket_matches[0].transport_socket");
    // One PROXY protocol version per cluster: a match without the cluster's upstream_proxy_protocol wrapper is refused.
    String proxyProtocol = ProxyHarness.bootstrap(ProxyHarness.allTo("backend"), """
          - name: backend
            type: STATIC
            transport_socket:
              name: envoy.transport_sockets.upstream_proxy_protocol
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport
                config: { version: V2 }
                transport_socket:
                  name: envoy.transport_sockets.raw_buffer
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
            transport_socket_matches:
            - name: plain
              match: {}
              transport_socket:
                name: envoy.transport_sockets.raw_buffer
                typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer }
            load_assignment:
              cluster_name: backend
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1001 } } }
        """);
    assertThatThrownBy(() -> BootstrapLoader.fromYaml(proxyProtocol, "pp.yaml")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("static_resources.clusters[0].transport_socket_matches[0].transport_socket: sends PROXY"
            + " protocol version 0 (0: none) while the cluster's transport_socket sends 2");
  }
}
