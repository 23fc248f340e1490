package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.demo.SampleService;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.xds.OutboundTrafficPolicy;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntries end to end: a real control plane (REGISTRY_ONLY) and a real sidecar; the "external" services are
 * local HTTP servers outside the mesh (no sidecar), declared by a STATIC ServiceEntry (endpoints 127.0.0.1, two
 * versions split by a DestinationRule and a header route of a VirtualService) and a DNS one (host {@code localhost},
 * resolved by the proxy to loopback). The app calls them by Host through its sidecar's outbound port; a Host neither
 * the registry nor an entry has gets istiod's block_all 502.
 */
class ServiceEntryEndToEndTest {
  @Test
  void anAppReachesServiceEntryHostsThroughItsSidecarAndUnknownHostsAreBlocked() throws Exception {
    var options = new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001)
        .withOutboundTrafficPolicy(OutboundTrafficPolicy.REGISTRY_ONLY);
    try (ControlPlane cp = ControlPlane.start(options);
        SampleService v1 = new SampleService("api", "v1").start("127.0.0.1", 0);
        SampleService v2 = new SampleService("api", "v2").start("127.0.0.1", 0);
        SampleService weather = new SampleService("weather", "v1").start("127.0.0.1", 0);
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("entries.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: frontend }
          spec:
            ports: [ { name: http, port: 80 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: api }
          spec:
            hosts: [ api.example.test ]
            location: MESH_EXTERNAL
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP } ]
            endpoints:
            - { address: 127.0.0.1, ports: { http: %d }, labels: { version: v1 } }
            - { address: 127.0.0.1, ports: { http: %d }, labels: { version: v2 } }
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: weather }
          spec:
            hosts: [ localhost ]
            resolution: DNS
            ports: [ { number: %d, name: http } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: db }
          spec:
            hosts: [ db.example.test ]
            resolution: STATIC    # (not DNS: no name leaves this machine to be looked up)
            ports: [ { number: 5432, name: tcp, protocol: TCP } ]
            endpoints: [ { address: 127.0.0.1 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: api }
          spec:
            host: api.example.test
            subsets:
            - { name: v1, labels: { version: v1 } }
            - { name: v2, labels: { version: v2 } }
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: { name: api }
          spec:
            hosts: [ api.example.test ]
            http:
            - match: [ { headers: { x-version: { exact: v2 } } } ]
              route: [ { destination: { host: api.example.test, subset: v2 } } ]
            - route: [ { destination: { host: api.example.test, subset: v1 } } ]
          """.formatted(v1.port(), v2.port(), weather.port())).policies(), false);

      int outbound = client.outboundAddress().getPort();
      // Until the control plane's config is in effect (a connection may be reset while the placeholder listener goes).
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> served(outbound, "api.example.test", null, 1)
          .containsKey("api-v1"));
      // The VirtualService on the entry's host: its default route to subset v1, its header route to v2.
      assertThat(served(outbound, "api.example.test", null, 20)).containsOnly(Map.entry("api-v1", 20));
      assertThat(served(outbound, "api.example.test:80", "v2", 20)).containsOnly(Map.entry("api-v2", 20));
      // DNS resolution: the proxy resolves the host itself (localhost: loopback, nothing leaves this machine).
      assertThat(served(outbound, "localhost:" + weather.port(), null, 5)).containsOnly(Map.entry("weather-v1", 5));
      assertThat(served(outbound, "localhost", null, 5)).containsOnly(Map.entry("weather-v1", 5));
      // REGISTRY_ONLY: a Host neither the registry nor an entry has.
      assertThat(served(outbound, "elsewhere.example.test", null, 3)).containsOnly(Map.entry("status 502", 3));

      // A sidecar without capture cannot reach an entry's TCP port: `status` says so.
      assertThat(cp.xds.status()).filteredOn(p -> p.nodeId().equals(client.nodeId())).singleElement()
          .satisfies(p -> assertThat(String.join("\n", p.warnings())).contains("db.example.test:5432 (TCP)"));
      // `bin/keelson get serviceentry|se` (the HTTP API behind it) shows the entry as applied.
      var http = java.net.http.HttpClient.newHttpClient();
      for (String kind : java.util.List.of("se", "serviceentry", "serviceentries")) {
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + cp.api.port()
            + "/v1/resources/" + kind + "/api")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"kind\" : \"ServiceEntry\"").contains("api.example.test");
      }
    }
  }

  /**
   * An entry's {@code HTTP2} port: the app speaks HTTP/1.1 to its sidecar, which speaks HTTP/2 (prior knowledge) to an
   * h2c-only server outside the mesh ({@link H2cApp}: an HTTP/1.1 request would fail its preface), as istiod's
   * {@code http2_protocol_options} on the entry's cluster make Envoy do.
   */
  @Test
  void anEntrysHttp2PortIsReachedOverHttp2() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        H2cApp h2 = new H2cApp();
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      cp.store.apply(PolicyParser.parse("entries.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: frontend }
          spec:
            ports: [ { name: http, port: 80 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: h2 }
          spec:
            hosts: [ h2.example.test ]
            resolution: STATIC
            ports: [ { number: 80, name: h2, protocol: HTTP2 } ]
            endpoints: [ { address: 127.0.0.1, ports: { h2: %d } } ]
          """.formatted(h2.port())).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> get(outbound, "h2.example.test").status() == 200);
      for (int i = 0; i < 5; i++) {
        RawHttp.Response r = get(outbound, "h2.example.test");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("h2 /items");
      }
      assertThat(h2.streams.get()).as("every request an HTTP/2 stream at the server").isGreaterThanOrEqualTo(6);
    }
  }

  private static RawHttp.Response get(int port, String host) throws Exception {
    try (RawHttp http = new RawHttp(port)) {
      return http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
    }
  }

  /**
   * TLS origination (DestinationRule {@code tls} mode SIMPLE): the app speaks plain HTTP to its sidecar, which speaks TLS
   * to an HTTPS server (a certificate for secure.example.test from a test CA the rule names in {@code caCertificates}).
   * A second host on the same server is refused by the sidecar's check of the server's name (its SNI, by default).
   */
  @Test
  void aDestinationRuleOriginatesTlsToAServiceEntryHostAndChecksTheServersName(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path dir) throws Exception {
    io.keelson.dataplane.testing.TestCa ca = new io.keelson.dataplane.testing.TestCa("external-ca");
    java.nio.file.Path caFile = ca.write(dir, "ca.pem");
    var leaf = ca.issue("secure.example.test", "secure.example.test");
    var https = com.sun.net.httpserver.HttpsServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(leaf.clientContext(ca)));
    https.createContext("/", exchange -> {
      byte[] body = ("secure " + exchange.getRequestURI().getPath()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("x-served-by", "https-server");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    https.start();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      String entry = """
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: %1$s }
          spec:
            hosts: [ %1$s.example.test ]
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP, targetPort: %2$d } ]
            endpoints: [ { address: 127.0.0.1 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: %1$s }
          spec:
            host: %1$s.example.test
            trafficPolicy: { tls: { mode: SIMPLE, caCertificates: %3$s } }
          """;
      int port = https.getAddress().getPort();
      cp.store.apply(PolicyParser.parse("tls.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: frontend }
          spec:
            ports: [ { name: http, port: 80 } ]
          """ + entry.formatted("secure", port, caFile) + entry.formatted("wrong", port, caFile)).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> served(outbound, "secure.example.test", null, 1)
          .containsKey("https-server"));
      assertThat(served(outbound, "secure.example.test", null, 5)).containsOnly(Map.entry("https-server", 5));
      // The same server under another name: its certificate does not name wrong.example.test, so no request reaches it.
      assertThat(served(outbound, "wrong.example.test", null, 3)).containsOnly(Map.entry("status 503", 3));
    } finally {
      https.stop(0);
    }
  }

  /**
   * DestinationRule {@code tls} mode MUTUAL: the sidecar originates TLS presenting the client certificate the rule
   * names (files on the proxy's machine) to a server that requires one from its client CA. The same server reached
   * with SIMPLE (no certificate) or with a certificate from another CA refuses the handshake, so nothing is served.
   */
  @Test
  void aMutualDestinationRulePresentsItsClientCertificate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    io.keelson.dataplane.testing.TestCa serverCa = new io.keelson.dataplane.testing.TestCa("server-ca");
    io.keelson.dataplane.testing.TestCa clientCa = new io.keelson.dataplane.testing.TestCa("client-ca");
    io.keelson.dataplane.testing.TestCa strangerCa = new io.keelson.dataplane.testing.TestCa("stranger-ca");
    java.nio.file.Path serverCaFile = serverCa.write(dir, "server-ca.pem");
    java.nio.file.Path clientCert = clientCa.issue("frontend-client").write(dir, "client");
    java.nio.file.Path strangerCert = strangerCa.issue("frontend-client").write(dir, "stranger");
    var leaf = serverCa.issue("partner.example.test", "partner.example.test", "simple.example.test",
        "stranger.example.test");
    var https = com.sun.net.httpserver.HttpsServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(leaf.clientContext(clientCa)) {
      @Override
      public void configure(com.sun.net.httpserver.HttpsParameters params) {
        params.setNeedClientAuth(true);
      }
    });
    java.util.List<String> clients = new java.util.concurrent.CopyOnWriteArrayList<>();
    https.createContext("/", exchange -> {
      var session = ((com.sun.net.httpserver.HttpsExchange) exchange).getSSLSession();
      clients.add(((java.security.cert.X509Certificate) session.getPeerCertificates()[0]).getSubjectX500Principal()
          .getName());
      exchange.getResponseHeaders().add("x-served-by", "partner");
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    https.start();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        Sidecar client = SidecarEndToEndTest.sidecar(cp, "frontend", Map.of(), 1)) {
      String entry = """
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: %1$s }
          spec:
            hosts: [ %1$s.example.test ]
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP, targetPort: %2$d } ]
            endpoints: [ { address: 127.0.0.1 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: %1$s }
          spec:
            host: %1$s.example.test
            trafficPolicy: { tls: { %3$s, caCertificates: %4$s } }
          """;
      int port = https.getAddress().getPort();
      cp.store.apply(PolicyParser.parse("mtls.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: frontend }
          spec:
            ports: [ { name: http, port: 80 } ]
          """
          + entry.formatted("partner", port, "mode: MUTUAL, clientCertificate: " + clientCert + ", privateKey: "
              + dir.resolve("client.key"), serverCaFile)
          + entry.formatted("simple", port, "mode: SIMPLE", serverCaFile)
          + entry.formatted("stranger", port, "mode: MUTUAL, clientCertificate: " + strangerCert + ", privateKey: "
              + dir.resolve("stranger.key"), serverCaFile)).policies(), false);

      int outbound = client.outboundAddress().getPort();
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> served(outbound, "partner.example.test", null,
          1).containsKey("partner"));
      assertThat(served(outbound, "partner.example.test", null, 4)).containsOnly(Map.entry("partner", 4));
      assertThat(clients).allMatch(name -> name.contains("CN=frontend-client")).hasSizeGreaterThanOrEqualTo(5);
      int servedBefore = clients.size();
      // No client certificate, or one the server's client CA did not issue: the handshake fails, nothing is served.
      assertThat(served(outbound, "simple.example.test", null, 2)).containsOnly(Map.entry("status 503", 2));
      assertThat(served(outbound, "stranger.example.test", null, 2)).containsOnly(Map.entry("status 503", 2));
      assertThat(clients).hasSize(servedBefore);
    } finally {
      https.stop(0);
    }
  }

  /** n requests with this Host (and x-version when not null) over one connection; x-served-by or the status. */
  static Map<String, Integer> served(int port, String host, String version, int n) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    try (RawHttp http = new RawHttp(port)) {
      for (int i = 0; i < n; i++) {
        RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: " + host + "\r\n"
            + (version == null ? "" : "x-version: " + version + "\r\n") + "\r\n").read();
        counts.merge(r.status() == 200 ? r.header("x-served-by") : "status " + r.status(), 1, Integer::sum);
      }
    }
    return counts;
  }
}
