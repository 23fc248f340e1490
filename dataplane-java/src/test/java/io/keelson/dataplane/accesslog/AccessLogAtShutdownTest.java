package io.keelson.dataplane.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proxy that stops writes out its access log first: every request served before {@code close()} has its line in the
 * file when {@code close()} returns (Envoy flushes its access logs on exit), and nothing writes to the file after.
 */
class AccessLogAtShutdownTest {
  @TempDir Path dir;

  @Test
  void linesOfRequestsServedJustBeforeCloseAreInTheFileWhenCloseReturns() throws Exception {
    Path log = dir.resolve("access.log");
    try (TestUpstream upstream = new TestUpstream("u1")) {
      String yaml = ProxyHarness.withHcm(ProxyHarness.bootstrap("""
                          - name: all
                            domains: ["*"]
                            routes:
                            - match: { prefix: "/" }
                              route: { cluster: backend }
              """, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
          ProxyHarness.fileAccessLog(log, "%REQ(:PATH)% %RESPONSE_CODE%\\n"));
      ProxyHarness proxy = new ProxyHarness(yaml, PipelineMode.INLINE);
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      for (int i = 0; i < 20; i++) {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(proxy.uri("/r" + i)).timeout(Duration.ofSeconds(10))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
      }
      proxy.close(); // well within the 1 s flush interval: only close can have written these
      assertThat(Files.readAllLines(log)).hasSize(20).first().isEqualTo("/r0 200");
      long size = Files.size(log);
      Thread.sleep(1_500); // past the flush interval: nothing is written after close
      assertThat(Files.size(log)).isEqualTo(size);
    }
  }
}
