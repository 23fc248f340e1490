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
 * Istio's Sidecar resource on a captured sidecar, end to end: {@code bin/keelson control} runs with the mesh's default
 * outbound traffic policy (ALLOW_ANY), and a root-namespace Sidecar (the mesh default, in its own file of the config
 * directory) admits only {@code api.external.test} and sets REGISTRY_ONLY. The "outside world" is a network namespace
 * without a sidecar (10.77.2.2: an HTTP echo server on :8080) declared by two STATIC ServiceEntries on port 80; the
 * app (curl as uid 65534) knows nothing of the mesh.
 *
 * <p>Shown: the admitted entry is reached by name; the other entry, out of scope, gets 502 ({@code block_all}); a
 * connection to the server's own port goes to {@code BlackHoleCluster} and never reaches it (under the mesh's
 * ALLOW_ANY it would pass through). With the Sidecar's file removed, live: the other entry and the direct port are
 * reached. Skipped, with the reason printed, without root or the tools; the namespaces are removed even when the test
 * fails.
 */
class CapturedSidecarScopeTest {
  private static final String ECHO = """
      import http.server
      class H(http.server.BaseHTTPRequestHandler):
          protocol_version = "HTTP/1.1"
          def do_GET(self):
              body = ("path=" + self.path + "\\n").encode()
              self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
              self.wfile.write(body)
          def log_message(self, *args):
              pass
      http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
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
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: other }
      spec:
        hosts: [ other.external.test ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP } ]
        endpoints: [ { address: 10.77.2.2, ports: { http: 8080 } } ]
      """;
  private static final String SIDECAR = """
      apiVersion: networking.istio.io/v1
      kind: Sidecar
      metadata: { name: default, namespace: istio-system }
      spec:
        egress: [ { hosts: [ "*/api.external.test" ] } ]
        outboundTrafficPolicy: { mode: REGISTRY_ONLY }
      """;

  @AutoClose private CapturedMesh m;

  @Test
  void aRootSidecarScopesACapturedSidecarToOneEntryAndBlackholesTheRestUntilRemoved() throws Exception {
    m = CapturedMesh.create("CapturedSidecarScopeTest");
    m.topology(1);
    String outside = m.server(0);
    Files.writeString(m.dir.resolve("policies.yaml"), POLICIES);
    Files.writeString(m.dir.resolve("sidecar.yaml"), SIDECAR);
    m.start(m.cp, "control", CapturedMesh.keelson("control", "--bind", "10.77.1.1", "--xds-port", "15010",
        "--api-port", "15014", "--config-dir", m.dir.toString()));
    Process iptables = m.start(m.client, "iptables", CapturedMesh.keelson("iptables", "--proxy-uid", "0"));
    assertThat(iptables.waitFor(60, TimeUnit.SECONDS) && iptables.exitValue() == 0).as(m.logs()).isTrue();
    m.start(outside, "echo", appUser(PYTHON, "-c", ECHO));
    m.awaitRootPem();
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(List.of("--xds", "10.77.1.1:15010"), "frontend", "8000",
        "10.77.1.2"));
    m.awaitOutput(m.client, "0.0.0.0_80::0.0.0.0:80", "curl", "-s", "http://127.0.0.1:9901/listeners");
    assertThat(run(in(m.client, "curl", "-s", "--max-time", "5", "http://10.77.2.2:8080/direct"), 20).out())
        .as("the server answers directly (root is not captured)").contains("path=/direct");
    m.awaitOutput(m.cp, "Sidecar/istio-system/default", "curl", "-s", CapturedMesh.API + "/v1/status");

    Result admitted = appCurl("--resolve", "api.external.test:80:10.77.2.2", "http://api.external.test/hello");
    assertThat(admitted.out()).as(admitted.out() + m.logs()).contains("path=/hello");
    // Out of scope: REGISTRY_ONLY from the Sidecar, although the mesh is ALLOW_ANY.
    assertThat(appCurl("-o", "/dev/null", "-w", "%{http_code}", "--resolve", "other.external.test:80:10.77.2.2",
        "http://other.external.test/x").out()).isEqualTo("502");
    Result direct = appCurl("http://10.77.2.2:8080/blocked");
    assertThat(direct.out()).doesNotContain("path=/blocked");
    assertThat(direct.exit()).as("curl to a port nobody declared").isNotZero();
    assertThat(m.stat(m.client, "cluster.BlackHoleCluster.upstream_rq_no_healthy_upstream")).as(m.logs())
        .isGreaterThanOrEqualTo(1);

    // The Sidecar's file removed: the mesh's view and policy again, live.
    Files.delete(m.dir.resolve("sidecar.yaml"));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> appCurl("--resolve",
        "other.external.test:80:10.77.2.2", "http://other.external.test/x").out().contains("path=/x"));
    Result passed = appCurl("http://10.77.2.2:8080/passed");
    assertThat(passed.out()).as(passed.out() + m.logs()).contains("path=/passed");
  }

  private Result appCurl(String... args) {
    return m.appCurl(args);
  }
}
