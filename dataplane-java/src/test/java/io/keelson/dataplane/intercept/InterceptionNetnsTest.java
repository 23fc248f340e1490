package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.testkit.Shell;
import io.keelson.dataplane.internal.ffm.TestEal;
import io.keelson.dataplane.transport.Transport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Transparent interception for real, in a network namespace this test creates: iptables in the namespace REDIRECTs
 * the TCP connections of uid 65534 (the client: curl under setpriv) to the proxy, which runs as root (so its own
 * upstream connections are not redirected, as Istio excludes the sidecar's uid) in a child JVM inside the namespace:
 * connections to 10.123.0.2 go to the inbound listener (15006), every other one to the outbound listener (15001).
 * Backends: python HTTP servers at 10.123.0.1:8080 (backend-a), 127.0.0.1:9090 (backend-b), 10.123.0.2:8080
 * (backend-c), each serving who.txt naming itself. The bootstrap is Istio's shape: virtualOutbound (original_dst,
 * use_original_dst, a PassthroughFilterChain to an ORIGINAL_DST cluster), an unbound HTTP listener 0.0.0.0_8080
 * routing by Host, and virtualInbound selecting chains by destination_port.
 * Needs root, ip, iptables (nat), setpriv, curl and python3; skipped with the reason otherwise.
 */
class InterceptionNetnsTest {
  private static final String A = "10.123.0.1";
  private static final String POD = "10.123.0.2";
  private static final String CLIENT_UID = "65534";
  private static final String A6 = "fd00:123::1";
  private static String skipReason;
  /** Why the IPv6 test cannot run (no ip6tables nat table here), or null. */
  private static String ipv6SkipReason;
  private static String ns;
  private static Path dir;
  private static final List<Process> backends = new ArrayList<>();

  @BeforeAll
  static void setUp() throws IOException {
    skipReason = skipReason();
    if (skipReason != null) {
      return;
    }
    ns = "ki-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xFFFFF));
    dir = Files.createTempDirectory("keelson-intercept-");
    Shell.ok("ip", "netns", "add", ns);
    try {
      Shell.okIn(ns, "ip", "link", "set", "lo", "up");
      Shell.okIn(ns, "ip", "addr", "add", A + "/32", "dev", "lo");
      Shell.okIn(ns, "ip", "addr", "add", POD + "/32", "dev", "lo");
      // Istio's shape: inbound (to the pod's address) to 15006, all other outbound TCP to 15001; never the proxy's own.
      Shell.okIn(ns, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "!", "--uid-owner", "0",
          "-d", POD, "-j", "REDIRECT", "--to-ports", "15006");
      Shell.okIn(ns, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "!", "--uid-owner", "0",
          "-j", "REDIRECT", "--to-ports", "15001");
      ipv6SkipReason = ipv6();
      backend("backend-a", A, 8080);
      backend("backend-b", "127.0.0.1", 9090);
      backend("backend-c", POD, 8080);
      for (String url : List.of("http://" + A + ":8080/who.txt", "http://127.0.0.1:9090/who.txt",
          "http://" + POD + ":8080/who.txt")) {
        await("backend " + url).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
            .until(() -> Shell.run(Shell.in(ns, "curl", "-sf", "--max-time", "2", url), 10).exit() == 0);
      }
    } catch (RuntimeException | Error | IOException e) {
      tearDown();
      throw e;
    }
  }

  /** IPv6: an address on lo, a backend there, uid 65534's TCP redirected to 15011; the reason when that fails. */
  private static String ipv6() throws IOException {
    if (!Shell.onPath("ip6tables")) {
      return "ip6tables is not installed";
    }
    Shell.okIn(ns, "ip", "-6", "addr", "add", A6 + "/128", "dev", "lo", "nodad");
    Shell.Result nat = Shell.run(Shell.in(ns, "ip6tables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "owner", "!",
        "--uid-owner", "0", "-j", "REDIRECT", "--to-ports", "15011"), 10);
    if (nat.exit() != 0) {
      return "ip6tables has no nat table here: " + nat.out().trim();
    }
    backend("backend-v6", A6, 8081);
    await("IPv6 backend").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> Shell.run(
        Shell.in(ns, "curl", "-sf", "--max-time", "2", "http://[" + A6 + "]:8081/who.txt"), 10).exit() == 0);
    return null;
  }

  private static void backend(String name, String ip, int port) throws IOException {
    Path root = Files.createDirectories(dir.resolve(name));
    Files.writeString(root.resolve("who.txt"), name + "\n");
    backends.add(new ProcessBuilder(Shell.in(ns, python(), "-m", "http.server", String.valueOf(port), "--bind", ip,
        "--directory", root.toString())).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start());
  }

  private static String python() {
    return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
  }

  private static String skipReason() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "needs root (network namespaces, iptables)";
    }
    for (String tool : List.of("ip", "iptables", "setpriv", "curl", "python3")) {
      if (!Shell.onPath(tool)) {
        return tool + " is not installed";
      }
    }
    return null;
  }

  @AfterAll
  static void tearDown() {
    if (ns == null) {
      return;
    }
    Shell.Result pids = Shell.run(List.of("ip", "netns", "pids", ns), 10);
    for (String pid : pids.out().trim().split("\\s+")) {
      if (!pid.isEmpty()) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    backends.forEach(Process::destroyForcibly);
    Shell.run(List.of("ip", "netns", "del", ns), 10);
    ns = null;
    Shell.run(List.of("rm", "-rf", dir.toString()), 10);
  }

  @ParameterizedTest
  @ValueSource(strings = {"epoll", "io_uring"})
  void redirectedConnectionsAreServedAsTheirOriginalDestination(String transport) throws Exception {
    TestEal.skipUnless(skipReason == null, String.valueOf(skipReason));
    Throwable unavailable = Transport.valueOf(transport.toUpperCase(java.util.Locale.ROOT)).unavailabilityCause();
    TestEal.skipUnless(unavailable == null, transport + " is not available here: " + unavailable);
    Path accessLog = dir.resolve("access-" + transport + ".log");
    try (ProxyProcess proxy = new ProxyProcess(transport, bootstrap(accessLog))) {
      // The unbound HTTP listener 0.0.0.0_8080, reached through virtualOutbound's hand-off, routes by Host ...
      assertThat(asClient("http://" + A + ":8080/who.txt", "-H", "Host: svc-b")).isEqualTo("backend-b\n");
      // ... and its catch-all route goes to PassthroughCluster (ORIGINAL_DST): the original destination itself.
      assertThat(asClient("http://" + A + ":8080/who.txt")).isEqualTo("backend-a\n");
      // The same over HTTP/2 (h2c with prior knowledge) ...
      assertThat(asClient("http://" + A + ":8080/who.txt", "--http2-prior-knowledge")).isEqualTo("backend-a\n");
      // ... and use_http_header: the request names its host, which wins over the original destination.
      assertThat(asClient("http://" + A + ":8080/who.txt", "-H", "x-envoy-original-dst-host: 127.0.0.1:9090"))
          .isEqualTo("backend-b\n");
      // No listener at *:9090: virtualOutbound's own PassthroughFilterChain (tcp_proxy, ORIGINAL_DST) relays it.
      assertThat(asClient("http://127.0.0.1:9090/who.txt")).isEqualTo("backend-b\n");
      // virtualInbound picks its chain by the original destination's port: HTTP to InboundPassthroughCluster ...
      assertThat(asClient("http://" + POD + ":8080/who.txt")).isEqualTo("backend-c\n");
      // ... or tcp_proxy to a static cluster; a port no chain names is closed (no default_filter_chain).
      assertThat(asClient("http://" + POD + ":9090/who.txt")).isEqualTo("backend-b\n");
      Shell.Result unmatched = Shell.run(clientCurl("http://" + POD + ":7070/"), 15);
      assertThat(unmatched.exit()).as("curl exit for a port no chain of virtualInbound names: %s", unmatched.out())
          .isIn(52, 56);
      // Loop guard: a connection made to 15001 itself was not redirected, so it has no original destination: the
      // passthrough has no host and closes it (Envoy: no healthy upstream), instead of connecting to itself.
      Shell.Result direct = Shell.run(Shell.in(ns, "curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w",
          "%{http_code}", "http://127.0.0.1:15001/who.txt"), 15);
      assertThat(direct.exit()).as("curl exit connecting to 15001 directly: %s", direct.out()).isIn(52, 56);
      // An HTTP route to an ORIGINAL_DST cluster on a connection that was not redirected: 503, flag UH.
      Shell.Result noOriginal = Shell.run(Shell.in(ns, "curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w",
          "%{http_code}", "http://127.0.0.1:15080/who.txt"), 15);
      assertThat(noOriginal.out()).isEqualTo("503");
      assertThat(proxy.isAlive()).as("proxy alive; output:\n%s", proxy.output()).isTrue();
      await("access log lines").atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        String log = Files.exists(accessLog) ? Files.readString(accessLog) : "";
        assertThat(log).contains("local=" + A + ":8080 code=200 flags=- upstream=127.0.0.1:9090")
            .contains("local=" + A + ":8080 code=200 flags=- upstream=" + A + ":8080")
            .contains("local=" + POD + ":8080 code=200 flags=- upstream=" + POD + ":8080")
            .contains("local=127.0.0.1:15080 code=503 flags=UH upstream=-")
            .doesNotContain(":15001")
            .doesNotContain(":15006");
      });
    }
  }

  /** IPv6: IP6T_SO_ORIGINAL_DST restores an IPv6 destination (a sockaddr_in6) and the passthrough reaches it. */
  @ParameterizedTest
  @ValueSource(strings = {"epoll", "io_uring"})
  void anIpv6RedirectedConnectionReachesItsOriginalDestination(String transport) throws Exception {
    TestEal.skipUnless(skipReason == null, String.valueOf(skipReason));
    TestEal.skipUnless(ipv6SkipReason == null, String.valueOf(ipv6SkipReason));
    Throwable unavailable = Transport.valueOf(transport.toUpperCase(java.util.Locale.ROOT)).unavailabilityCause();
    TestEal.skipUnless(unavailable == null, transport + " is not available here: " + unavailable);
    try (ProxyProcess proxy = new ProxyProcess(transport, bootstrap(dir.resolve("access-v6-" + transport + ".log")))) {
      assertThat(asClient("http://[" + A6 + "]:8081/who.txt")).isEqualTo("backend-v6\n");
      assertThat(proxy.isAlive()).isTrue();
    }
  }

  /**
   * An unbound listener follows LDS like a bound one: an update that changes 0.0.0.0_8080 in place drains the
   * connections handed to it (an idle HTTP/1.1 connection is closed, as on any drained listener), and new connections
   * get the new version.
   */
  @ParameterizedTest
  @ValueSource(strings = {"epoll", "io_uring"})
  void anUnboundListenerUpdatedInPlaceDrainsItsHandedOffConnections(String transport) throws Exception {
    TestEal.skipUnless(skipReason == null, String.valueOf(skipReason));
    Throwable unavailable = Transport.valueOf(transport.toUpperCase(java.util.Locale.ROOT)).unavailabilityCause();
    TestEal.skipUnless(unavailable == null, transport + " is not available here: " + unavailable);
    Path accessLog = dir.resolve("access-update-" + transport + ".log");
    Path go = Path.of("/tmp", "keelson-intercept-go-" + ns + "-" + transport); // the client (uid 65534) can see /tmp
    Files.deleteIfExists(go);
    Path bootstrap = bootstrap(accessLog);
    try (ProxyProcess proxy = new ProxyProcess(transport, bootstrap)) {
      String client = """
          import http.client, os, sys, time
          c = http.client.HTTPConnection("10.123.0.1", 8080, timeout=5)
          def get(n):
              c.request("GET", "/who.txt", headers={"Host": "svc-b"})
              r = c.getresponse()
              print(n, r.status, r.getheader("connection"), r.read().decode().strip(), flush=True)
          get(1)
          while not os.path.exists(sys.argv[1]):
              time.sleep(0.05)
          try:
              get(2)
          except (http.client.RemoteDisconnected, ConnectionError) as e:
              print(2, "closed", type(e).__name__, flush=True)
          """;
      Path clientOut = dir.resolve("client-" + transport + ".out");
      Process p = new ProcessBuilder(Shell.in(ns, "setpriv", "--reuid=" + CLIENT_UID, "--regid=" + CLIENT_UID,
          "--clear-groups", python(), "-c", client, go.toString())).redirectErrorStream(true)
          .redirectOutput(clientOut.toFile()).start();
      try {
        await("first response").atMost(Duration.ofSeconds(15))
            .until(() -> Files.readString(clientOut).contains("1 200"));
        assertThat(Files.readString(clientOut)).contains("1 200 None backend-b");
        // Written aside, then moved into place: the proxy polls for the file and must never read it half written
        // (it did once: "UPDATE FAILED" on an empty file, and the update never came).
        Path update = Path.of(bootstrap + ".update");
        Path partial = Path.of(bootstrap + ".update.tmp");
        Files.writeString(partial, bootstrapYaml(accessLog, "backend-a"));
        Files.move(partial, update, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        await("update applied").atMost(Duration.ofSeconds(15)).until(() -> proxy.output().contains("UPDATED"));
        Files.writeString(go, "go");
        assertThat(p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)).as("client done").isTrue();
        // Drained as its listener's connection: idle, so closed (a connection counted as virtualOutbound's, which
        // did not change, would have stayed open and answered).
        assertThat(Files.readString(clientOut)).as("the idle handed-off connection after the update")
            .contains("2 closed RemoteDisconnected");
        assertThat(asClient("http://" + A + ":8080/who.txt", "-H", "Host: svc-b")).as("a new connection: the new version")
            .isEqualTo("backend-a\n");
      } finally {
        p.destroyForcibly();
        Files.deleteIfExists(go);
      }
    }
  }

  /** curl run as the client uid (its connections are redirected), the body on success; fails loudly otherwise. */
  private static String asClient(String url, String... extra) {
    Shell.Result r = Shell.run(clientCurl(url, extra), 15);
    assertThat(r.exit()).as("curl %s as uid %s: %s", url, CLIENT_UID, r.out()).isZero();
    return r.out();
  }

  private static List<String> clientCurl(String url, String... extra) {
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + CLIENT_UID, "--regid=" + CLIENT_UID,
        "--clear-groups", "curl", "-sS", "--fail", "--max-time", "5"));
    cmd.addAll(List.of(extra));
    cmd.add(url);
    return Shell.in(ns, cmd.toArray(new String[0]));
  }

  private static Path bootstrap(Path accessLog) throws IOException {
    Path file = dir.resolve("bootstrap.yaml");
    Files.writeString(file, bootstrapYaml(accessLog, "backend-b"));
    return file;
  }

  /** The bootstrap; {@code svcB} is the cluster the unbound listener 0.0.0.0_8080 routes Host svc-b to. */
  private static String bootstrapYaml(Path accessLog, String svcB) {
    String format = "local=%DOWNSTREAM_LOCAL_ADDRESS% code=%RESPONSE_CODE% flags=%RESPONSE_FLAGS% upstream=%UPSTREAM_HOST%\\n";
    String log = """
                        access_log:
                          - name: envoy.access_loggers.file
                            typed_config:
                              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                              path: "LOG"
                              log_format: { text_format_source: { inline_string: "FORMAT" } }
                        http_filters:
                          - name: envoy.filters.http.router
                            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
        """.replace("LOG", accessLog.toString()).replace("FORMAT", format);
    String originalDst = """
              listener_filters:
                - name: envoy.filters.listener.original_dst
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst }
        """;
    return """
        static_resources:
          listeners:
            - name: virtualOutbound
              address: { socket_address: { address: 0.0.0.0, port_value: 15001 } }
              use_original_dst: true
        LISTENER_FILTERS
              filter_chains:
                - name: PassthroughFilterChain
                  filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: PassthroughCluster
                        cluster: PassthroughCluster
            - name: virtualOutbound6
              address: { socket_address: { address: "::", port_value: 15011 } }
              use_original_dst: true
        LISTENER_FILTERS
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: PassthroughCluster6
                        cluster: PassthroughCluster
            - name: 0.0.0.0_8080
              address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
              bind_to_port: false
              filter_chains:
                - filters:
                    - name: envoy.filters.network.http_connection_manager
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                        stat_prefix: outbound_0.0.0.0_8080
        ACCESS_LOG
                        route_config:
                          virtual_hosts:
                            - name: svc-b
                              domains: ["svc-b", "svc-b:*"]
                              routes: [ { match: { prefix: "/" }, route: { cluster: SVC_B } } ]
                            - name: allow_any
                              domains: ["*"]
                              routes: [ { match: { prefix: "/" }, route: { cluster: PassthroughCluster } } ]
            - name: virtualInbound
              address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
        LISTENER_FILTERS
              filter_chains:
                - name: inbound_8080
                  filter_chain_match: { destination_port: 8080 }
                  filters:
                    - name: envoy.filters.network.http_connection_manager
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                        stat_prefix: inbound_0.0.0.0_8080
        ACCESS_LOG
                        route_config:
                          virtual_hosts:
                            - name: inbound
                              domains: ["*"]
                              routes: [ { match: { prefix: "/" }, route: { cluster: InboundPassthroughCluster } } ]
                - name: inbound_9090
                  filter_chain_match: { destination_port: 9090 }
                  filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: inbound_9090
                        cluster: backend-b
            - name: direct
              address: { socket_address: { address: 127.0.0.1, port_value: 15080 } }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.http_connection_manager
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                        stat_prefix: direct
        ACCESS_LOG
                        route_config:
                          virtual_hosts:
                            - name: all
                              domains: ["*"]
                              routes: [ { match: { prefix: "/" }, route: { cluster: PassthroughCluster } } ]
          clusters:
            - name: PassthroughCluster
              type: ORIGINAL_DST
              lb_policy: CLUSTER_PROVIDED
              connect_timeout: 2s
              original_dst_lb_config: { use_http_header: true }
            - name: InboundPassthroughCluster
              type: ORIGINAL_DST
              lb_policy: CLUSTER_PROVIDED
              connect_timeout: 2s
            - name: backend-b
              type: STATIC
              load_assignment:
                cluster_name: backend-b
                endpoints:
                  - lb_endpoints:
                      - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9090 } } }
            - name: backend-a
              type: STATIC
              load_assignment:
                cluster_name: backend-a
                endpoints:
                  - lb_endpoints:
                      - endpoint: { address: { socket_address: { address: 10.123.0.1, port_value: 8080 } } }
        """.replace("LISTENER_FILTERS\n", originalDst).replace("ACCESS_LOG\n", log).replace("SVC_B", svcB);
  }

  /** The proxy as a child JVM inside the namespace ({@link InterceptProxyMain}); killed by {@link #close}. */
  private static final class ProxyProcess implements AutoCloseable {
    private final Process process;
    private final Path out;

    ProxyProcess(String transport, Path bootstrap) throws IOException {
      out = dir.resolve("proxy-" + transport + ".out");
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      process = new ProcessBuilder(Shell.in(ns, java, "--enable-native-access=ALL-UNNAMED",
          "--sun-misc-unsafe-memory-access=allow", "-Xmx256m", "-XX:+UseSerialGC", "-cp",
          System.getProperty("java.class.path"), InterceptProxyMain.class.getName(), bootstrap.toString(), transport))
          .redirectErrorStream(true).redirectOutput(out.toFile()).start();
      await("proxy ready (output in " + out + ")").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100))
          .until(() -> {
            String text = output();
            if (text.contains("FAILED") || !process.isAlive()) {
              throw new AssertionError("proxy did not start:\n" + text);
            }
            return text.contains("READY");
          });
    }

    String output() throws IOException {
      return Files.exists(out) ? Files.readString(out) : "";
    }

    boolean isAlive() {
      return process.isAlive();
    }

    @Override
    public void close() {
      process.destroy();
      try {
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }
}
