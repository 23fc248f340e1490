package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.Reachability;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.transport.Transport;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A closed {@link ProxyServer} (and its ProxyContext: pipelines, upstream pools, access log service) becomes
 * unreachable: a proxy builds a new one per server, and a test JVM starts hundreds. Served a request over HTTP/1.1 and
 * one over h2c (or h2 over TLS and HTTP/3) first, so that every per-event-loop and per-thread structure has been made.
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
    String yaml = ProxyHarness.withHcm(
        ProxyHarness.bootstrap(ProxyHarness.ALL_TO_BACKEND, ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port())),
        ProxyHarness.fileAccessLog(dir.resolve("access.log"), "%RESPONSE_CODE%\\n"));
    WeakReference<ProxyServer> server = startServeAndClose(yaml, mode, transport, p -> {
      String url = "http://127.0.0.1:" + p.listenerAddress("ingress").getPort() + "/release";
      assertThat(curl("--http1.1", url)).isEqualTo("1.1 200");
      assertThat(curl("--http2-prior-knowledge", url)).isEqualTo("2 200");
    });
    assertThat(Reachability.collected(server)).as("the closed ProxyServer is still reachable after System.gc()").isTrue();
  }

  /** The same with TLS (h2 over ALPN) and HTTP/3 (QUIC) listeners. */
  @ParameterizedTest(name = "{0} pipeline on {1}")
  @CsvSource({"INLINE, NIO", "DISRUPTOR, EPOLL"})
  void aClosedProxyWithTlsAndQuicListenersIsCollected(PipelineMode mode, Transport transport) throws Exception {
    Assumptions.assumeTrue(transport.unavailabilityCause() == null, () -> transport + " is not available here");
    Assumptions.assumeTrue(Ngtcp2Client.installed(), "gtlsclient (ngtcp2) is not installed");
    upstream = new TestUpstream("backend");
    Path cert = QuicYaml.serverCertificate(dir);
    Path key = dir.resolve("server.key");
    String h3 = QuicYaml.listener("h3", 0, "{}", cert, key, ProxyHarness.ALL_TO_BACKEND, "",
        QuicYaml.accessLog(dir.resolve("h3.log"), "%PROTOCOL% %RESPONSE_CODE%\\n"));
    String yaml = TlsYaml.httpsListener(cert, key, "", "            alpn_protocols: [h2, http/1.1]",
        ProxyHarness.cluster("backend", "ROUND_ROBIN", upstream.port()));
    yaml = yaml.replace("\n  clusters:\n", "\n" + h3.stripTrailing() + "\n  clusters:\n");
    WeakReference<ProxyServer> server = startServeAndClose(yaml, mode, transport, p -> {
      String url = "https://localhost:" + p.listenerAddress("ingress").getPort() + "/release";
      assertThat(curl("--http2", "-k", url)).isEqualTo("2 200");
      assertThat(Ngtcp2Client.get(p.listenerAddress("h3").getPort(), "localhost", "/release", dir).status())
          .isEqualTo(200);
    });
    assertThat(Reachability.collected(server)).as("the closed ProxyServer is still reachable after System.gc()").isTrue();
  }

  /** What a test sends through the proxy before closing it. */
  interface Traffic {
    void send(ProxyServer proxy) throws Exception;
  }

  /**
   * Starts a proxy from {@code yaml} (2 event loops, an admin port), runs {@code traffic} and a scrape of its admin
   * stats, closes it; in a frame of its own, so that no local keeps the proxy.
   */
  private static WeakReference<ProxyServer> startServeAndClose(String yaml, PipelineMode mode, Transport transport,
      Traffic traffic) throws Exception {
    ProxyServer p = new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"), ProxyOptions.defaults()
        .withConcurrency(2).withPipeline(mode).withTransport(transport).withAdmin("127.0.0.1", 0)
        .withDrainTime(Duration.ofSeconds(1))).start();
    try {
      traffic.send(p);
      assertThat(curl("http://127.0.0.1:" + p.adminAddress().getPort() + "/stats/prometheus")).isEqualTo("1.1 200");
      return new WeakReference<>(p);
    } finally {
      p.close();
    }
  }

  /** curl's HTTP version and status ("2 200"). */
  private static String curl(String... args) throws Exception {
    String[] withVersion = new String[args.length + 2];
    withVersion[0] = "-w"; // curl takes the last -w: the version before CurlStatus's code
    withVersion[1] = "%{http_version} %{http_code}";
    System.arraycopy(args, 0, withVersion, 2, args.length);
    return CurlStatus.of(withVersion);
  }
}
