package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.demo.SampleService;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keelson proxy} as a real process: it serves from an Envoy bootstrap file, and SIGTERM makes
 * it drain and exit 0 (bin/keelson execs this same JVM command, so the signal reaches it).
 */
class ProxyProcessTest {
  private static final Pattern ADMIN = Pattern.compile("admin on http://127.0.0.1:(\\d+)/");

  @Test
  void servesAndShutsDownCleanlyOnSigterm(@TempDir Path dir) throws Exception {
    try (SampleService app = new SampleService("product", "v1").start("127.0.0.1", 0)) {
      Path config = dir.resolve("envoy.yaml");
      Files.writeString(config, """
          static_resources:
            listeners:
            - name: ingress
              address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
              filter_chains:
              - filters:
                - name: envoy.filters.network.http_connection_manager
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                    stat_prefix: ingress_http
                    route_config:
                      virtual_hosts:
                      - name: all
                        domains: ["*"]
                        routes:
                        - match: { prefix: "/" }
                          route: { cluster: app }
                    http_filters:
                    - name: envoy.filters.http.router
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
            clusters:
            - name: app
              connect_timeout: 1s
              load_assignment:
                cluster_name: app
                endpoints:
                - lb_endpoints:
                  - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
          """.formatted(app.port()));
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      Process proxy = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
          "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName(),
          "proxy", "--config", config.toString(), "--admin", "127.0.0.1:0", "--concurrency", "1")
          .redirectErrorStream(true).redirectOutput(dir.resolve("proxy.log").toFile()).start();
      Path log = dir.resolve("proxy.log");
      Pattern listening = Pattern.compile("listener ingress on .*:(\\d+)$", Pattern.MULTILINE);
      int listenPort = await().atMost(Duration.ofSeconds(30)).until(() -> {
        assertThat(proxy.isAlive()).as("proxy running").isTrue();
        Matcher m = listening.matcher(Files.readString(log));
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
      }, p -> p > 0);
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + listenPort + "/hello")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("x-served-by")).hasValue("product-v1");

      proxy.destroy(); // SIGTERM
      assertThat(proxy.waitFor(20, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
      String output = Files.readString(log);
      assertThat(proxy.exitValue()).as(output).isZero();
      assertThat(output).contains("draining").contains("stopped");
    }
  }

  @Test
  void aProxyWithDynamicResourcesIsNotReadyUntilItsXdsServerAnswers(@TempDir Path dir) throws Exception {
    int xdsPort;
    try (java.net.ServerSocket reserved = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      xdsPort = reserved.getLocalPort(); // the xDS server comes up on it later
    }
    Path config = dir.resolve("envoy.yaml"); // a sidecar's: static listeners, dynamic_resources over ADS
    Files.writeString(config, new io.keelson.control.sidecar.SidecarBootstrap("127.0.0.1", xdsPort, "late-xds",
        java.util.Map.of(), 1, 0, 0, "127.0.0.1", 0, false).yaml());
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path log = dir.resolve("proxy.log");
    Process proxy = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
        "-Dkeelson.xds.initialFetchTimeoutMillis=600000", // live only through the xDS server's answer
        "-cp", System.getProperty("java.class.path"), KeelsonMain.class.getName(),
        "proxy", "--config", config.toString(), "--admin", "127.0.0.1:0", "--concurrency", "1")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      int adminPort = await().atMost(Duration.ofSeconds(30)).until(() -> {
        assertThat(proxy.isAlive()).as("proxy running").isTrue();
        Matcher m = ADMIN.matcher(Files.readString(log));
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
      }, port -> port > 0);
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://127.0.0.1:" + adminPort + "/ready");
      // The static listeners are bound, but the first xDS configuration has not arrived.
      HttpResponse<String> before = http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(before.statusCode()).as(before.body()).isEqualTo(503);
      assertThat(before.body()).isEqualTo("INITIALIZING\n");
      try (io.keelson.control.xds.XdsServer xds =
               new io.keelson.control.xds.XdsServer(new io.keelson.control.store.PolicyStore(), 15001)
                   .start("127.0.0.1", xdsPort)) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          assertThat(proxy.isAlive()).as("proxy running").isTrue();
          HttpResponse<String> after = http.send(HttpRequest.newBuilder(ready).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        });
      }
    } finally {
      proxy.destroyForcibly();
      proxy.waitFor(20, TimeUnit.SECONDS);
    }
  }
}
