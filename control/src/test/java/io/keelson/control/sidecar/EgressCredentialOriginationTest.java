package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.IngressGatewayTest.b64;
import static io.keelson.control.sidecar.IngressGatewayTest.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.xds.ResourceType;
import io.keelson.dataplane.xds.XdsStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Egress TLS origination with DestinationRule {@code tls.credentialName}, end to end: an app speaks plain HTTP to an
 * egress gateway (a real proxy with a join token of istio-system), which originates TLS to nginx with the Secrets of its
 * namespace delivered over SDS: SIMPLE verifies nginx against the CA of a CA-only Secret ({@code cacert}); MUTUAL
 * presents the Secret's client certificate to an nginx that requires one, verified with the CA of the
 * {@code <name>-cacert} Secret. Rotating the Secrets (a new client certificate, another CA) reaches new connections
 * with no CDS push (nginx resumes TLS sessions by default: this also checks that the gateway forgets its client
 * sessions on a rotation, else nginx would see the old certificate again). A gateway whose join token is of another namespace is served no secret: its handshakes fail.
 */
class EgressCredentialOriginationTest {
  @TempDir
  Path dir;

  @Test
  void anEgressGatewayOriginatesTlsWithItsNamespacesSecretsAndFollowsTheirRotation() throws Exception {
    TestCa serverCa = new TestCa("partner-server-ca");
    TestCa clientCa = new TestCa("partner-client-ca");
    TestCa strangerCa = new TestCa("stranger-ca");
    TestCa.Leaf server = serverCa.issue("partner.example.test", "partner.example.test", "simple.example.test");
    TestCa.Leaf clientA = clientCa.issue("egress-a");
    TestCa.Leaf clientB = clientCa.issue("egress-b");
    int simple = freePort();
    int mutual = freePort();
    int egress = freePort();
    try (Nginx nginx = Nginx.start(dir, server, clientCa, simple, mutual);
        ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
            CaOptions.selfSigned(null), 0));
        Sidecar gateway = SidecarMtlsTest.secureProxy(cp, "istio-system", "egress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "egress", Map.of("istio", "egressgateway"), "127.0.0.1",
            "127.0.0.1", 0));
        Sidecar stranger = SidecarMtlsTest.secureProxy(cp, "shop", "egress", SidecarBootstrap.gateway(
            "127.0.0.1", cp.security.securePort().port(), "egress-shop", Map.of("istio", "egressgateway"),
            "127.0.0.2", "127.0.0.1", 0))) {
      cp.store.apply(PolicyParser.parse("egress.yaml", secrets(clientA, clientCa, serverCa)
          + config(egress, simple, mutual)).policies(), false);

      // SIMPLE: nginx's certificate verified against the CA-only Secret's cacert.
      await().atMost(Duration.ofSeconds(20)).until(() -> call(egress, "simple.example.test").equals("200 simple"));
      // MUTUAL: nginx requires a client certificate from its client CA and sees the Secret's.
      await().atMost(Duration.ofSeconds(10)).until(() -> call(egress, "partner.example.test")
          .equals("200 mutual CN=egress-a"));
      assertThat(cp.xds.resourcesFor(gateway.nodeId()).clusters().toString())
          .contains("kubernetes://partner-client").contains("kubernetes://partner-client-cacert")
          .contains("kubernetes://simple-ca-cacert").doesNotContain("BEGIN");

      // Rotation: a new client certificate, then another CA, each an SDS update only (no cluster change).
      XdsStats before = gateway.xds().stats();
      var snapshot = gateway.server().snapshot();
      cp.store.apply(PolicyParser.parse("rotate.yaml", clientSecret(clientB)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> call(egress, "partner.example.test")
          .equals("200 mutual CN=egress-b"));
      cp.store.apply(PolicyParser.parse("rotate-ca.yaml", caSecret(strangerCa)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> call(egress, "simple.example.test").equals("503"));
      XdsStats after = gateway.xds().stats();
      assertThat(after.accepted(ResourceType.SECRET)).isGreaterThan(before.accepted(ResourceType.SECRET));
      assertThat(after.versions().get(ResourceType.CLUSTER)).as("no CDS push for a Secret change")
          .isEqualTo(before.versions().get(ResourceType.CLUSTER));
      assertThat(after.accepted(ResourceType.CLUSTER)).isEqualTo(before.accepted(ResourceType.CLUSTER));
      assertThat(gateway.server().snapshot()).as("the slots swapped under the clusters").isSameAs(snapshot);
      cp.store.apply(PolicyParser.parse("rotate-back.yaml", caSecret(serverCa)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> call(egress, "simple.example.test").equals("200 simple"));

      // The gateway of namespace shop runs the same clusters but is served no secret of istio-system: no CA to verify
      // nginx with, no certificate to present, so nothing reaches nginx through it.
      int strangerPort = egress;
      await().atMost(Duration.ofSeconds(20)).until(() -> call("127.0.0.2", strangerPort, "unknown.example.test")
          .equals("404"));
      assertThat(call("127.0.0.2", strangerPort, "simple.example.test")).isEqualTo("503");
      assertThat(call("127.0.0.2", strangerPort, "partner.example.test")).isEqualTo("503");
      assertThat(stranger.xds().stats().versions().get(ResourceType.CLUSTER))
          .isEqualTo(gateway.xds().stats().versions().get(ResourceType.CLUSTER));
      // keelson status says why, for the gateway of shop only.
      assertThat(warnings(cp, stranger.nodeId())).anySatisfy(w -> assertThat(w)
          .contains("cluster outbound|80||partner.example.test: DestinationRule/istio-system/partner")
          .contains("tls.credentialName 'partner-client' is not served to this gateway (mode MUTUAL needs a Secret"
              + " 'partner-client' with tls.crt and tls.key in namespace shop)"));
      assertThat(warnings(cp, gateway.nodeId())).noneMatch(w -> w.contains("credentialName"));
    }
  }

  private static java.util.List<String> warnings(ControlPlane cp, String nodeId) {
    return cp.xds.status().stream().filter(st -> st.nodeId().equals(nodeId)).findFirst()
        .map(io.keelson.control.xds.ProxyStatus::warnings).orElseThrow();
  }

  private static String secrets(TestCa.Leaf client, TestCa clientCa, TestCa serverCa) throws Exception {
    return clientSecret(client) + """
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: partner-client-cacert, namespace: istio-system }
        type: Opaque
        data: { ca.crt: %s }
        ---
        """.formatted(b64(serverCa.certPem())) + caSecret(serverCa);
  }

  private static String clientSecret(TestCa.Leaf client) {
    return """
        apiVersion: v1
        kind: Secret
        metadata: { name: partner-client, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        """.formatted(b64(client.certPem()), b64(client.keyPem()));
  }

  /** A CA-only Secret in Istio's generic shape ({@code cacert}). */
  private static String caSecret(TestCa ca) {
    return """
        apiVersion: v1
        kind: Secret
        metadata: { name: simple-ca, namespace: istio-system }
        type: Opaque
        data: { cacert: %s }
        """.formatted(b64(ca.certPem()));
  }

  private static String config(int egress, int simple, int mutual) {
    String entry = """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: %1$s, namespace: istio-system }
        spec:
          hosts: [ %1$s.example.test ]
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP, targetPort: %2$d } ]
          endpoints: [ { address: 127.0.0.1 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: %1$s, namespace: istio-system }
        spec:
          host: %1$s.example.test
          trafficPolicy: { tls: { mode: %3$s, credentialName: %4$s } }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: %1$s, namespace: istio-system }
        spec:
          hosts: [ %1$s.example.test ]
          gateways: [ istio-system/egress ]
          http: [ { route: [ { destination: { host: %1$s.example.test, port: { number: 80 } } } ] } ]
        """;
    return """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: egress, namespace: istio-system }
        spec:
          selector: { istio: egressgateway }
          servers:
          - port: { number: %d, name: http, protocol: HTTP }
            hosts: [ "*" ]
        """.formatted(egress) + entry.formatted("simple", simple, "SIMPLE", "simple-ca")
        + entry.formatted("partner", mutual, "MUTUAL", "partner-client");
  }

  private static String call(int port, String host) {
    return call("127.0.0.1", port, host);
  }

  /** One request through the gateway: "status body x-client" (the body's one line), or the status alone. */
  private static String call(String address, int port, String host) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String response = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
      int status = Integer.parseInt(response.substring(9, 12));
      if (status != 200) {
        return String.valueOf(status);
      }
      String client = null;
      for (String line : response.split("\r\n")) {
        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("x-client:")) {
          client = line.substring(9).trim();
        }
      }
      String body = response.substring(response.indexOf("\r\n\r\n") + 4).trim();
      return "200 " + body + (client == null ? "" : " " + client);
    } catch (IOException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  /**
   * nginx (one process, no daemon) with two TLS servers of {@code server}'s certificate: {@code simple} answers
   * "simple", {@code mutual} requires a client certificate from {@code clientCa} and answers "mutual" with the
   * client's subject in x-client. Every response closes its connection, so each request is a new handshake.
   */
  record Nginx(Process process) implements AutoCloseable {
    static Nginx start(Path dir, TestCa.Leaf server, TestCa clientCa, int simple, int mutual) throws Exception {
      Path cert = server.write(dir, "server");
      Path clientCaFile = clientCa.write(dir, "client-ca.pem");
      Path conf = dir.resolve("nginx.conf");
      Files.writeString(conf, """
          daemon off;
          master_process off;
          pid %1$s/nginx.pid;
          error_log %1$s/error.log info;
          events { worker_connections 64; }
          http {
            access_log off;
            client_body_temp_path %1$s/body;
            proxy_temp_path %1$s/proxy;
            fastcgi_temp_path %1$s/fastcgi;
            uwsgi_temp_path %1$s/uwsgi;
            scgi_temp_path %1$s/scgi;
            keepalive_timeout 0;
            ssl_certificate %2$s;
            ssl_certificate_key %3$s;
            server {
              listen 127.0.0.1:%5$d ssl;
              location / { return 200 "simple\\n"; }
            }
            server {
              listen 127.0.0.1:%6$d ssl;
              ssl_client_certificate %4$s;
              ssl_verify_client on;
              location / { add_header x-client "$ssl_client_s_dn" always; return 200 "mutual\\n"; }
            }
          }
          """.formatted(dir, cert, dir.resolve("server.key"), clientCaFile, simple, mutual));
      Process p = new ProcessBuilder("nginx", "-p", dir.toString(), "-e", dir.resolve("error.log").toString(), "-c",
          conf.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
      Nginx nginx = new Nginx(p);
      try {
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
          try (Socket a = new Socket("127.0.0.1", simple); Socket b = new Socket("127.0.0.1", mutual)) {
            return p.isAlive();
          }
        });
      } catch (RuntimeException e) {
        nginx.close();
        throw new AssertionError("nginx did not start: " + Files.readString(dir.resolve("nginx.out")), e);
      }
      return nginx;
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
