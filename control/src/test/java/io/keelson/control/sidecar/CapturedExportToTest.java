package io.keelson.control.sidecar;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Istio's {@code exportTo} on a captured sidecar, end to end: {@code bin/keelson control} as a process with the mesh's
 * default outbound traffic policy (ALLOW_ANY); a captured app of namespace {@code default} (curl as uid 65534). The
 * "outside world" (10.77.2.2, a network namespace without a sidecar) answers {@code mesh path=...} on :8080, the port
 * the ServiceEntries' endpoints name, and {@code direct path=...} on :80, where a connection the sidecar passes
 * through lands.
 *
 * <p>Shown: an entry of namespace {@code default} is reached through its cluster; an entry of namespace {@code shop}
 * exported to {@code .} is not the app's, so its call passes through to where the app sent it, as an Istio sidecar
 * under ALLOW_ANY; exported to every namespace by a live change, the call goes through its cluster. Skipped, with the
 * reason printed, without root or the tools; the namespaces are removed even when the test fails.
 */
class CapturedExportToTest {
  private static final String ECHO = """
      import http.server, sys
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = (sys.argv[2] + " path=" + self.path + "\\n").encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
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
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 10.77.2.2, ports: { http: 8080 } } ]
      """;
  private static final String SHOP = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: other, namespace: shop }
      spec:
        hosts: [ other.external.test ]
        exportTo: [ "%s" ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 10.77.2.2, ports: { http: 8080 } } ]
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void anEntryNotExportedToTheAppsNamespacePassesThroughUntilExportedThere() throws Exception {
    m = CapturedMesh.create("CapturedExportToTest");
    m.topology(1);
    String outside = m.server(0);
    Files.writeString(m.dir.resolve("policies.yaml"), POLICIES);
    Files.writeString(m.dir.resolve("shop.yaml"), SHOP.formatted("."));
    m.start(m.cp, "control", CapturedMesh.keelson("control", "--bind", "10.77.1.1", "--xds-port", "15010",
        "--api-port", "15014", "--config-dir", m.dir.toString()));
    Process iptables = m.start(m.client, "iptables", CapturedMesh.keelson("iptables", "--proxy-uid", "0"));
    assertThat(iptables.waitFor(60, TimeUnit.SECONDS) && iptables.exitValue() == 0).as(m.logs()).isTrue();
    m.start(outside, "mesh-echo", appUser(PYTHON, "-c", ECHO, "8080", "mesh"));
    m.start(outside, "direct-echo", PYTHON, "-c", ECHO, "80", "direct"); // as root: port 80
    m.awaitRootPem();
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(List.of("--xds", "10.77.1.1:15010"), "frontend", "8000",
        "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_80::0.0.0.0:80", "curl", "-s", "http://127.0.0.1:9901/listeners");
    assertThat(run(in(m.client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:80/direct"), 20).out())
        .as("the server answers directly (root is not captured)").contains("direct path=/direct");

    Result own = appCurl("--resolve", "api.external.test:80:10.77.2.2", "http://api.external.test/hello");
    assertThat(own.out()).as(own.out() + m.logs()).contains("mesh path=/hello");
    // shop's entry, exported to '.': not this app's (namespace default); ALLOW_ANY passes the call through.
    Result hidden = appCurl("--resolve", "other.external.test:80:10.77.2.2", "http://other.external.test/x");
    assertThat(hidden.out()).as(hidden.out() + m.logs()).contains("direct path=/x");

    Files.writeString(m.dir.resolve("shop.yaml"), SHOP.formatted("*"));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> appCurl("--resolve",
        "other.external.test:80:10.77.2.2", "http://other.external.test/x").out().contains("mesh path=/x"));
  }

  private Result appCurl(String... args) {
    return m.appCurl(args);
  }
}
