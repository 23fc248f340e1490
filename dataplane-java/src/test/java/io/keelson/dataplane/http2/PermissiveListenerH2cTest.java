package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RunningProxies;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import io.keelson.dataplane.testing.TlsYaml;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS-or-plaintext listener (PERMISSIVE: tls_inspector with a {@code tls} and a {@code raw_buffer} chain) serves
 * HTTP/2 both ways, as Envoy: h2c with prior knowledge in plaintext (curl, a plaintext grpc-java client), h2 by ALPN
 * under TLS, and HTTP/1.1 on either. Real curl and grpc-java.
 */
class PermissiveListenerH2cTest {
  @TempDir Path dir;

  private final RunningProxies proxies = new RunningProxies();
  private Server grpc;

  @AfterEach
  void close() throws Exception {
    proxies.close();
    if (grpc != null) {
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A PERMISSIVE listener with a test CA's certificate (ca.crt in dir), routing everything to "backend"; its port. */
  private int permissiveListener(String cluster) throws Exception {
    TestCa ca = new TestCa("permissive-h2c-ca");
    Path cert = ca.issue("proxy.test", "proxy.test", "localhost").write(dir, "server");
    ca.write(dir, "ca.crt");
    String tlsChain = TlsYaml.httpsChain("transport_protocol: tls", cert, dir.resolve("server.key"), "",
        "            alpn_protocols: [h2, http/1.1]\n", TlsYaml.ALL_TO_BACKEND);
    ProxyServer p = proxies.start(TlsYaml.permissiveListener(tlsChain, cluster), 1);
    return p.listenerAddress("ingress").getPort();
  }

  @Test
  void servesH2cPriorKnowledgeInPlaintextAndH2ByAlpnUnderTls() throws Exception {
    TestUpstream up = proxies.keep(new TestUpstream("backend"));
    int port = permissiveListener(TlsYaml.cluster(up.port(), null));
    String ca = dir.resolve("ca.crt").toString();
    String format = "%{http_code} %{http_version}";
    assertThat(curl("--http2-prior-knowledge", "-w", format, "http://127.0.0.1:" + port + "/h2c"))
        .as("plaintext h2c with prior knowledge").isEqualTo("200 2");
    assertThat(curl("--http1.1", "-w", format, "http://127.0.0.1:" + port + "/h1")).isEqualTo("200 1.1");
    assertThat(curl("--http2", "--cacert", ca, "-w", format, "https://localhost:" + port + "/h2"))
        .as("h2 by ALPN").isEqualTo("200 2");
    assertThat(up.lastHeaders).containsEntry("x-forwarded-proto", "https");
    assertThat(curl("--http1.1", "--cacert", ca, "-w", format, "https://localhost:" + port + "/h1s")).isEqualTo("200 1.1");
  }

  @Test
  void aPlaintextGrpcJavaClientIsServed() throws Exception {
    HealthStatusManager health = new HealthStatusManager();
    grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(health.getHealthService())
        .build().start();
    health.setStatus("svc.v1", ServingStatus.SERVING);
    int port = permissiveListener(TlsYaml.cluster(grpc.getPort(), null)
        .replace("    connect_timeout: 2s\n", "    connect_timeout: 2s\n    http2_protocol_options: {}\n"));
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      var answer = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService("svc.v1").build());
      assertThat(answer.getStatus()).isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String curl(String... args) throws Exception {
    var cmd = new java.util.ArrayList<>(java.util.List.of("curl", "-sS", "-m", "10", "-o", "/dev/null"));
    cmd.addAll(java.util.List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(proc.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }
}
