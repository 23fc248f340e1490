package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keelson proxy --tls-offload} as a real process: the flag's validation and {@code require} on this kernel. */
class ProxyTlsOffloadFlagTest {
  private static final String BOOTSTRAP = """
      static_resources:
        listeners:
        - name: ingress
          address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
          filter_chains:
          - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: tcp
                cluster: app
        clusters:
        - name: app
          connect_timeout: 1s
          load_assignment:
            cluster_name: app
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9 } } }
      """;

  private static Result run(Path dir, String... flags) throws Exception {
    Path config = dir.resolve("envoy.yaml");
    Files.writeString(config, BOOTSTRAP);
    Path jvm = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(jvm.toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName(),
        "proxy", "--config", config.toString(), "--admin", "127.0.0.1:0", "--concurrency", "1"));
    cmd.addAll(List.of(flags));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exits without serving").isTrue();
    return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private record Result(int exit, String output) {}

  @Test
  void rejectsAnUnknownMode(@TempDir Path dir) throws Exception {
    Result r = run(dir, "--tls-offload", "sometimes");
    assertThat(r.exit()).as(r.output()).isEqualTo(2);
    assertThat(r.output()).contains("keelson proxy: --tls-offload 'sometimes' is not one of: off, auto, require");
  }

  @Test
  void requireRefusesToStartOnAKernelWithoutTls(@TempDir Path dir) throws Exception {
    assumeTrue(kernelBuiltWithoutTls(), "needs a kernel built without CONFIG_TLS (/proc/config.gz)");
    Result r = run(dir, "--tls-offload", "require");
    assertThat(r.exit()).as(r.output()).isEqualTo(1);
    assertThat(r.output()).contains("keelson proxy: --tls-offload require: kernel TLS offload is unavailable")
        .contains("ENOENT").contains("CONFIG_TLS");
  }

  private static boolean kernelBuiltWithoutTls() {
    Path config = Path.of("/proc/config.gz");
    if (!Files.isReadable(config) || Files.exists(Path.of("/sys/module/tls"))) {
      return false;
    }
    try (InputStream in = new GZIPInputStream(Files.newInputStream(config))) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).contains("# CONFIG_TLS is not set");
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
