package io.keelson.dataplane.tls.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import io.keelson.dataplane.transport.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --tls-offload} on a running proxy with a TLS listener, with curl and the JDK's TLS client as peers, on
 * this machine's kernel: {@code auto} serves TLS as before and counts the fallback, {@code require} refuses to
 * start, {@code off} never probes; and, with a policy that pretends the probe succeeded, the per-connection
 * switch's checks pass on a real TLS 1.3 handshake up to the kernel's refusal, which leaves user-space TLS working.
 */
class TlsOffloadProxyTest {
  static TestCa ca;
  @TempDir static Path dir;
  static Path cert;
  static Path key;
  private final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void certificates() throws Exception {
    ca = new TestCa("ktls-proxy-ca");
    cert = ca.issue("localhost", "localhost").write(dir, "server");
    key = dir.resolve("server.key");
    ca.write(dir, "ca.crt");
  }

  @AfterEach
  void close() throws Exception {
    proxies.close();
  }

  private ProxyServer start(TlsOffloadMode mode, TestUpstream up) throws Exception {
    return start(mode, up, Transport.EPOLL);
  }

  private ProxyServer start(TlsOffloadMode mode, TestUpstream up, Transport transport) throws Exception {
    String yaml = TlsYaml.httpsListener(cert, key, "", "", TlsYaml.cluster(up.port(), null));
    return proxies.keep(new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(1).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1)).withTlsOffload(mode).withTransport(transport)).start());
  }

  private static void assumeKernelWithoutTls() {
    KernelTlsAnswer.Expected e = KernelTlsAnswer.expected();
    assumeTrue(e == KernelTlsAnswer.Expected.ENOENT, "needs a kernel without CONFIG_TLS; this one: " + e);
  }

  private static String curl(ProxyServer p) throws Exception {
    Process curl = new ProcessBuilder("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}",
        "--cacert", dir.resolve("ca.crt").toString(),
        "https://localhost:" + p.listenerAddress("ingress").getPort() + "/offload").redirectErrorStream(true).start();
    assertThat(curl.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void autoServesTlsToCurlAsBeforeAndCountsTheKernelFallback() throws Exception {
    assumeKernelWithoutTls();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.AUTO, up);
    assertThat(curl(p)).isEqualTo("200 0");
    assertThat(up.requestLines).contains("GET /offload HTTP/1.1");
    String stats = RunningProxies.admin(p, "/stats");
    assertThat(stats).contains("listener.ingress.ssl.handshake: 1\n")
        .contains("tls_offload.kernel_available: 0\n")
        .contains("tls_offload.fallback.kernel_unavailable: 1\n")
        .contains("tls_offload.offloaded: 0\n");
    String info = RunningProxies.admin(p, "/server_info");
    assertThat(info).contains("\"tls_offload\":{\"mode\":\"auto\",\"probed\":true,\"kernel_available\":false,"
        + "\"kernel_errno\":2,\"kernel_reason\":\"ENOENT: ").contains("CONFIG_TLS");
    assertThat(RunningProxies.admin(p, "/stats/prometheus")).contains("envoy_tls_offload_kernel_available 0\n")
        .contains("envoy_tls_offload_fallback_kernel_unavailable 1\n");
  }

  @Test
  void requireRefusesToStartNamingTheKernelsAnswer() throws Exception {
    assumeKernelWithoutTls();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    assertThatThrownBy(() -> start(TlsOffloadMode.REQUIRE, up))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("--tls-offload require: kernel TLS offload is unavailable")
        .hasMessageContaining("setsockopt(TCP_ULP, \"tls\") with ENOENT")
        .hasMessageContaining("CONFIG_TLS")
        .hasMessageContaining("--tls-offload auto");
  }

  @Test
  void offNeverProbesAndServesTlsAsBefore() throws Exception {
    KernelTlsProbe.forget();
    long probes = KernelTlsProbe.runs();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.OFF, up);
    assertThat(curl(p)).isEqualTo("200 0");
    assertThat(KernelTlsProbe.runs()).isEqualTo(probes);
    assertThat(RunningProxies.admin(p, "/server_info")).contains("\"tls_offload\":{\"mode\":\"off\",\"probed\":false,");
    assertThat(RunningProxies.admin(p, "/stats")).doesNotContain("tls_offload.");
  }

  /** A policy claiming the probe succeeded: the switch runs its checks; the kernel's ENOENT stops it at setsockopt. */
  private static TlsOffload pretendingKernelTls(ProxyServer p) {
    TlsOffload o = TlsOffload.withStatus(TlsOffloadMode.AUTO,
        new KernelTlsStatus(true, true, 0, "pretended by the test", true, "BoringSSL"), p.stats());
    p.context().tlsOffload(o);
    return o;
  }

  private static String handshakeThenGet(ProxyServer p, String protocol, TlsOffload o, FallbackReason expected)
      throws Exception {
    try (SSLSocket s = (SSLSocket) ca.clientContext().getSocketFactory()
        .createSocket("localhost", p.listenerAddress("ingress").getPort())) {
      s.setEnabledProtocols(new String[] {protocol});
      s.setSoTimeout(10_000);
      s.startHandshake();
      // The server decides when it reads the client's Finished; the request is written only after that, so it is
      // never in the same read (which would be buffered_records).
      await().atMost(Duration.ofSeconds(10)).alias("fallback " + expected.label + "; counted: " + o.toJson())
          .until(() -> o.fallbacks(expected) == 1);
      OutputStream out = s.getOutputStream();
      out.write("GET /after-switch-attempt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aTls13HandshakePassesEveryCheckAndTheKernelsRefusalKeepsUserSpaceTls() throws Exception {
    assumeKernelWithoutTls();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.AUTO, up);
    TlsOffload o = pretendingKernelTls(p);
    // setsockopt is reached only when TLS 1.3, the suite, no buffered or written records, and the captured secrets
    // (matching this connection's ClientHello random) all passed.
    assertThat(handshakeThenGet(p, "TLSv1.3", o, FallbackReason.SETSOCKOPT)).startsWith("HTTP/1.1 200");
    assertThat(up.requestLines).contains("GET /after-switch-attempt HTTP/1.1");
    assertThat(o.offloaded()).isZero();
    for (FallbackReason r : FallbackReason.values()) {
      assertThat(o.fallbacks(r)).as(r.label).isEqualTo(r == FallbackReason.SETSOCKOPT ? 1 : 0);
    }
    assertThat(o.secrets().pending()).as("secrets kept after the decision").isZero();
  }

  @Test
  void aTls12ConnectionFallsBackCountedAsTlsVersion() throws Exception {
    assumeKernelWithoutTls();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.AUTO, up);
    TlsOffload o = pretendingKernelTls(p);
    assertThat(handshakeThenGet(p, "TLSv1.2", o, FallbackReason.TLS_VERSION)).startsWith("HTTP/1.1 200");
    assertThat(o.fallbacks(FallbackReason.SETSOCKOPT)).isZero();
  }

  @Test
  void ioUringConnectionsAreNotSwitchedCountedAsTransport() throws Exception {
    assumeKernelWithoutTls();
    assumeTrue(io.netty.channel.uring.IoUring.isAvailable(), "io_uring is unavailable here");
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.AUTO, up, Transport.IO_URING);
    TlsOffload o = pretendingKernelTls(p);
    assertThat(handshakeThenGet(p, "TLSv1.3", o, FallbackReason.TRANSPORT)).startsWith("HTTP/1.1 200");
    assertThat(o.fallbacks(FallbackReason.SETSOCKOPT)).isZero();
    assertThat(o.secrets().pending()).isZero();
  }

  @Test
  void curlThroughTheSwitchStillGetsItsAnswerWhateverTheReason() throws Exception {
    assumeKernelWithoutTls();
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    ProxyServer p = start(TlsOffloadMode.AUTO, up);
    TlsOffload o = pretendingKernelTls(p);
    for (int i = 0; i < 3; i++) {
      assertThat(curl(p)).isEqualTo("200 0");
    }
    // curl may send its request in the same segment as its Finished (buffered_records) or after (setsockopt).
    assertThat(o.fallbacks(FallbackReason.SETSOCKOPT) + o.fallbacks(FallbackReason.BUFFERED_RECORDS)).isEqualTo(3);
    assertThat(o.secrets().pending()).isZero();
  }
}
