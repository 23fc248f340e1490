package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * ServiceEntries and {@code --outbound-traffic-policy REGISTRY_ONLY} through a captured sidecar, end to end: the
 * "outside world" is a network namespace without any sidecar (10.77.2.2: an HTTP echo server on :8080, TCP servers on
 * :7000 and :7001); the client namespace has {@code bin/keelson iptables} and a {@code --capture iptables} sidecar;
 * the app (curl, python as uid 65534) knows nothing of the mesh.
 *
 * <pre>
 * client ns (10.77.1.2: iptables, captured sidecar, app) ── cp ns (10.77.1.1, bin/keelson control REGISTRY_ONLY) ── outside ns (10.77.2.2)
 * </pre>
 *
 * Shown: a STATIC ServiceEntry host on port 80 (endpoint 10.77.2.2:8080) is reached by its name, with its
 * VirtualService's request header; a Host the mesh does not know on that port gets 502 (block_all); a connection to a
 * port nobody declared (8080 directly, 7001) goes to BlackHoleCluster and is closed without reaching the server; a
 * resolution NONE TCP entry (port 7000) passes to where the app sent it, and so does any name under a wildcard HTTP
 * entry ({@code *.wild.test}). Skipped, with the reason printed, without
 * root or the tools; the namespaces are removed even when the test fails.
 */
class CapturedServiceEntryTest {
  private static final String ECHO = """
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("path=" + self.path + "\\npeer=" + self.client_address[0] + "\\n" + str(self.headers)).encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
      """;
  /** TCP servers on :7000 and :7001 saying {@code hello from <port>} to each connection. */
  static final String HELLO = """
      import socket, sys, threading
      def serve(port):
          s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
          s.bind(("0.0.0.0", port)); s.listen(8)
          while True:
              c, peer = s.accept(); c.sendall(("hello from " + str(port) + "\\n").encode()); c.close()
      threading.Thread(target=serve, args=(7001,), daemon=True).start()
      serve(7000)
      """;
  private static final String TCP_CLIENT = """
      import socket, sys
      try:
          s = socket.create_connection(("10.77.2.2", int(sys.argv[1])), timeout=5)
          print("got:" + s.recv(100).decode().strip())
      except Exception as e:
          print("failed:" + type(e).__name__)
      """;
  private static final String POLICIES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: frontend }
      spec:
        ports: [ { name: http, port: 8000 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: api }
      spec:
        hosts: [ api.external.test ]
        location: MESH_EXTERNAL
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 10.77.2.2, ports: { http: 8080 } } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: hello }
      spec:
        hosts: [ hello.external.test ]
        resolution: NONE
        ports: [ { number: 7000, name: tcp, protocol: TCP } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: wild }
      spec:
        hosts: [ "*.wild.test" ]
        location: MESH_EXTERNAL
        resolution: NONE
        ports: [ { number: 80, name: http, protocol: HTTP } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: api }
      spec:
        hosts: [ api.external.test ]
        http:
        - route: [ { destination: { host: api.external.test } } ]
          headers: { request: { set: { x-via-entry: api } } }
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void registryOnlyLetsServiceEntryHostsThroughAndBlocksTheRest() throws Exception {
    m = CapturedMesh.create("CapturedServiceEntryTest");
    m.topology(1);
    String outside = m.server(0);
    Files.writeString(m.dir.resolve("policies.yaml"), POLICIES);
    m.start(m.cp, "control", CapturedMesh.keelson("control", "--bind", "10.77.1.1", "--xds-port", "15010",
        "--api-port", "15014", "--config-dir", m.dir.toString(), "--outbound-traffic-policy", "REGISTRY_ONLY"));
    Process iptables = m.start(m.client, "iptables", CapturedMesh.keelson("iptables", "--proxy-uid", "0"));
    assertThat(iptables.waitFor(60, TimeUnit.SECONDS) && iptables.exitValue() == 0).as(m.logs()).isTrue();
    m.start(outside, "echo", appUser(PYTHON, "-c", ECHO));
    m.start(outside, "hello", appUser(PYTHON, "-c", HELLO));
    m.start(outside, "echo80", PYTHON, "-c", ECHO.replace("8080", "80")); // root: port 80
    m.awaitRootPem();
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(List.of("--xds", "10.77.1.1:15010"), "frontend", "8000",
        "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_7000::0.0.0.0:7000", "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "0.0.0.0_80::0.0.0.0:80", "curl", "-s", "http://127.0.0.1:9901/listeners");
    // The outside world itself answers directly (root in the client namespace is not captured).
    assertThat(run(in(m.client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:8080/direct"), 20).out())
        .contains("path=/direct");

    // The entry's host by name (the app resolves it to any address; the port-80 listener routes by Host).
    Result entry = appCurl("--resolve", "api.external.test:80:10.77.2.2", "http://api.external.test/hello");
    assertThat(entry.exit()).as(entry.out() + m.logs()).isZero();
    assertThat(entry.out()).contains("path=/hello").containsIgnoringCase("x-via-entry: api")
        .containsIgnoringCase("x-envoy-attempt-count: 1").contains("peer=10.77.1.2");

    // A wildcard entry (resolution NONE): any name under it goes where the app sent it, through its own cluster.
    Result wild = appCurl("--resolve", "en.wild.test:80:10.77.2.2", "http://en.wild.test/wiki");
    assertThat(wild.exit()).as(wild.out() + m.logs()).isZero();
    assertThat(wild.out()).contains("path=/wiki").containsIgnoringCase("host: en.wild.test");
    assertThat(m.stat(m.client, "cluster.outbound|80||*.wild.test.upstream_rq_total")).as(m.logs()).isEqualTo(1);
    // The domain itself is not under its wildcard: no entry, so block_all.
    assertThat(appCurl("-o", "/dev/null", "-w", "%{http_code}", "--resolve", "wild.test:80:10.77.2.2",
        "http://wild.test/x").out()).isEqualTo("502");
    // A Host nobody declared, on the entry's port: istiod's block_all (502), not passed through.
    Result unknownHost = appCurl("-o", "/dev/null", "-w", "%{http_code}", "--resolve", "other.external.test:80:10.77.2.2",
        "http://other.external.test/x");
    assertThat(unknownHost.out()).isEqualTo("502");
    // A port nobody declared: virtualOutbound's chain goes to BlackHoleCluster; the server is never reached.
    Result direct = appCurl("http://10.77.2.2:8080/blocked");
    assertThat(direct.out()).doesNotContain("path=/blocked");
    assertThat(direct.exit()).as("curl to an undeclared port").isNotZero();
    assertThat(run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT, "7001")), 20).out()).doesNotContain("got:hello");
    // The resolution NONE TCP entry: to where the app sent it (ORIGINAL_DST).
    Result hello = run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT, "7000")), 20);
    assertThat(hello.out()).as(hello.out() + m.logs()).contains("got:hello from 7000");
    // Both blocked connections met BlackHoleCluster (no hosts), not a missing listener or chain.
    assertThat(m.stat(m.client, "cluster.BlackHoleCluster.upstream_rq_no_healthy_upstream")).as(m.logs())
        .isGreaterThanOrEqualTo(2);
  }

  private Result appCurl(String... args) {
    return m.appCurl(args);
  }
}
