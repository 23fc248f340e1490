package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.testkit.Shell.Result;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Ports with no declared protocol (Istio's auto-detection) through captured sidecars end to end ({@link CapturedMesh}'s
 * namespaces, real processes, no identities): the client sidecar's {@code 0.0.0.0_<port>} and the server sidecars'
 * virtualInbound run envoy.filters.listener.http_inspector with an HTTP chain and a tcp_proxy chain. Shown: curl to
 * a service whose port has no name nor protocol is routed by HTTP (a VirtualService header match adds a response
 * header, both ways). With Istio's default protocolDetectionTimeout (0s: none) a client that pauses before its request
 * is still routed by HTTP, and a server-first app (the client sends nothing until it has the greeting, as MySQL's) works
 * on a port declared TCP; with {@code --protocol-detection-timeout} such an app works on an undeclared port too: the
 * greeting comes through both sidecars' detection timeouts, then the client's binary bytes are echoed. Skipped, with the
 * reason printed, without root or the tools.
 */
class CapturedAutoProtocolMeshTest {
  private static final String HTTP_APP = """
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("path=" + self.path + "\\npeer=" + self.client_address[0] + "\\n").encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", 9080), H).serve_forever()
      """;
  /** Speaks first (a greeting naming the peer), then echoes every byte until the client's FIN. */
  private static final String GREETING_ECHO_APP = """
      import socket, threading
      def serve(c, peer):
          c.sendall(("220 db ready for " + peer[0] + "\\n").encode())
          while True:
              b = c.recv(4096)
              if not b:
                  break
              c.sendall(b)
          c.close()
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(("0.0.0.0", 7070)); s.listen(16)
      while True:
          c, peer = s.accept(); threading.Thread(target=serve, args=(c, peer), daemon=True).start()
      """;
  private static final String RAW_CLIENT = """
      import socket, time
      s = socket.create_connection(("%s", 7070), timeout=15)
      f = s.makefile("rb")
      t0 = time.time()
      print("greeting:" + f.readline().decode().strip() + " after_ms=%%d" %% ((time.time() - t0) * 1000))
      payload = bytes(range(256)) * 40
      s.sendall(payload); s.shutdown(socket.SHUT_WR)
      got = f.read()
      print("echoed_intact=" + str(got == payload) + " bytes=" + str(len(got)))
      """.formatted(CapturedMesh.serverAddress(1));
  /** Connects, says nothing for longer than the old 1 s detection timeout, then sends an HTTP request for the canary. */
  private static final String PAUSING_HTTP_CLIENT = """
      import socket, time
      s = socket.create_connection(("%s", 9080), timeout=15)
      time.sleep(1.5)
      s.sendall(b"GET /paused HTTP/1.1\\r\\nhost: reviews:9080\\r\\nx-canary: yes\\r\\nconnection: close\\r\\n\\r\\n")
      print(s.makefile("rb").read().decode())
      """.formatted(CapturedMesh.serverAddress(0));
  private static final String SERVICES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { port: 9080 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: db }
      spec:
        ports: [ { port: 7070 } ]
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews }
      spec:
        hosts: [ reviews ]
        http:
        - match: [ { headers: { x-canary: { exact: "yes" } } } ]
          headers: { response: { add: { x-route: canary } } }
          route: [ { destination: { host: reviews } } ]
        - headers: { response: { add: { x-route: main } } }
          route: [ { destination: { host: reviews } } ]
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void withoutADetectionTimeoutAPausingHttpClientIsRoutedAndServerFirstTcpWorksOnADeclaredPort() throws Exception {
    mesh(SERVICES.replace("ports: [ { port: 7070 } ]", "ports: [ { port: 7070, protocol: TCP } ]"));
    routesHttp();

    // A client that pauses before its request still gets the HTTP chain (the VirtualService's route), not tcp_proxy.
    Result paused = run(in(m.client, appUser(PYTHON, "-c", PAUSING_HTTP_CLIENT)), 60);
    assertThat(paused.exit()).as(paused.out() + m.logs()).isZero();
    assertThat(paused.out()).as(paused.out()).startsWith("HTTP/1.1 200").containsIgnoringCase("x-route: canary")
        .contains("path=/paused");

    // Server first on the port declared TCP: no detection, the greeting at once.
    serverFirstTcpIsRelayed();
    assertThat(m.statSum(m.client, "downstream_pre_cx_timeout")).as("no detection timeout").isZero();
  }

  @Test
  void withADetectionTimeoutServerFirstTcpOnAnUnnamedPortIsRelayedAfterIt() throws Exception {
    mesh(SERVICES, "--protocol-detection-timeout", "500ms");
    routesHttp();

    // Raw TCP, server first: both sidecars wait their detection timeout, then relay as TCP; binary bytes intact.
    serverFirstTcpIsRelayed();
    assertThat(m.statSum(m.client, "downstream_pre_cx_timeout")).as("client sidecar's detection timed out").isPositive();
    assertThat(m.statSum(m.server(1), "downstream_pre_cx_timeout")).as("server sidecar's detection timed out").isPositive();
  }

  /** The namespaces, {@code bin/keelson control} with {@code services} and {@code flags}, the apps and the sidecars. */
  private void mesh(String services, String... flags) throws Exception {
    m = CapturedMesh.create("CapturedAutoProtocolMeshTest");
    m.topology(2);
    m.control(services, flags);
    m.iptables();
    m.start(m.server(0), "reviews-app", appUser(PYTHON, "-c", HTTP_APP));
    m.start(m.server(1), "db-app", appUser(PYTHON, "-c", GREETING_ECHO_APP));
    m.awaitRootPem(); // the control plane answers
    List<String> xds = List.of("--xds", "10.77.1.1:15010");
    m.start(m.server(0), "reviews-sidecar", CapturedMesh.sidecar(xds, "reviews", "9080", CapturedMesh.serverAddress(0)));
    m.start(m.server(1), "db-sidecar", CapturedMesh.sidecar(xds, "db", "7070", CapturedMesh.serverAddress(1)));
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(xds, "frontend", "8000", "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_7070::0.0.0.0:7070", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "0.0.0.0_9080::0.0.0.0:9080", "curl", "-s", "http://127.0.0.1:9901/listeners");
    for (int k = 0; k < 2; k++) {
      m.awaitOutput(m.server(k), "0.0.0.0_8000::0.0.0.0:8000", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    }
  }

  /** HTTP on the unnamed port: the VirtualService's header route applies (its response header), through both sidecars. */
  private void routesHttp() throws IOException {
    Result canary = appCurl("-i", "-H", "x-canary: yes", "http://reviews:9080/canary");
    assertThat(canary.exit()).as(canary.out() + m.logs()).isZero();
    assertThat(canary.out()).containsIgnoringCase("x-route: canary").contains("path=/canary", "peer=127.0.0.6");
    Result main = appCurl("-i", "http://reviews:9080/main");
    assertThat(main.out()).as(main.out()).containsIgnoringCase("x-route: main").contains("path=/main");
    assertThat(m.stat(m.client, "http_inspector.http11_found")).as("client sidecar detected HTTP/1.1").isPositive();
    assertThat(m.stat(m.server(0), "http_inspector.http11_found")).as("server sidecar detected HTTP/1.1").isPositive();
  }

  /** The server-first app's greeting reaches the client, then its binary bytes come back intact. */
  private void serverFirstTcpIsRelayed() throws IOException {
    Result raw = run(in(m.client, appUser(PYTHON, "-c", RAW_CLIENT)), 60);
    assertThat(raw.exit()).as(raw.out() + m.logs()).isZero();
    assertThat(raw.out()).as(raw.out()).contains("greeting:220 db ready for 127.0.0.6", "echoed_intact=True bytes=10240");
  }

  /** curl as the app user in the client namespace, the service name resolved to the server's pod address. */
  private Result appCurl(String... args) {
    return m.appCurl(10, "reviews:9080:" + CapturedMesh.serverAddress(0), args);
  }
}
