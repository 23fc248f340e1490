package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.transport.Transport;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A closed {@link ProxyServer} (and its {@link ProxyContext}: pipelines, upstream pools, access log service) becomes
 * unreachable: a proxy builds a new one per server, and a test JVM starts hundreds. Served a request over HTTP/1.1 and
 * one over h2c first, so that every per-event-loop and per-thread structure has been made.
 */
class ProxyServerReleaseTest {
  private TestUpstream upstream;
  @TempDir
  Path dir;

  @AfterEach
  void tearDown() {
    if (upstream != null) {
      upstream.close();
    }
  }

  @ParameterizedTest(name = "{0} pipeline on {1}")
  @CsvSource({"INLINE, NIO", "DISRUPTOR, NIO", "DISRUPTOR, EPOLL", "DISRUPTOR, IO_URING"})
  void aClosedProxyIsCollected(PipelineMode mode, Transport transport) throws Exception {
    Assumptions.assumeTrue(transport.unavailabilityCause() == null, () -> transport + " is not available here");
    upstream = new TestUpstream("backend");
    WeakReference<ProxyServer> server = startServeAndClose(mode, transport);
    assertThat(collected(server)).as("the closed ProxyServer is still reachable after System.gc()").isTrue();
  }

  /** In its own frame, so that no local of this method keeps the proxy. */
  private WeakReference<ProxyServer> startServeAndClose(PipelineMode mode, Transport transport) throws Exception {
    String yaml = ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        ProxyHarness.fileAccessLog(dir.resolve("access.log"), "%RESPONSE_CODE%\\n"));
    ProxyServer p = new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"), ProxyOptions.defaults()
        .withConcurrency(2).withPipeline(mode).withTransport(transport).withAdmin("127.0.0.1", 0)
        .withDrainTime(Duration.ofSeconds(1))).start();
    try {
      String url = "http://127.0.0.1:" + p.listenerAddress("ingress").getPort() + "/release";
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      assertThat(client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      assertThat(curl("--http2-prior-knowledge", url)).isEqualTo("2 200");
      assertThat(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort()
          + "/stats/prometheus")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(200);
      return new WeakReference<>(p);
    } finally {
      p.close();
    }
  }

  private static String curl(String... args) throws Exception {
    String[] cmd = new String[args.length + 6];
    cmd[0] = "curl";
    cmd[1] = "-sS";
    cmd[2] = "-o";
    cmd[3] = "/dev/null";
    cmd[4] = "-w";
    cmd[5] = "%{http_version} %{http_code}";
    System.arraycopy(args, 0, cmd, 6, args.length);
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes()).trim();
    proc.waitFor();
    return out;
  }

  /** True once {@code ref} is cleared, collecting for up to 20 s (threads that end on close may take a while). */
  static boolean collected(WeakReference<?> ref) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (ref.get() != null && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(50);
    }
    if (ref.get() != null && Boolean.getBoolean("keelson.test.heapDumpOnLeak")) {
      dumpHeap(Path.of(System.getProperty("java.io.tmpdir"), "proxy-release-" + ProcessHandle.current().pid() + ".hprof"));
    }
    return ref.get() == null;
  }

  private static void dumpHeap(Path file) {
    try {
      Files.deleteIfExists(file);
      var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
      bean.dumpHeap(file.toString(), true);
      System.err.println("heap dumped to " + file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
