package io.keelson.dataplane.discovery;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real DNS server for a test: Debian's dnsmasq on 127.0.0.1 at a free port (UDP and TCP), answering only the names
 * of its hosts file (names under {@code .test}: others NXDOMAIN, a missing family NODATA), each with {@code ttl}, and logging every query; {@link #answer} rewrites the file and sends
 * SIGHUP so it reads it again; {@code hostRecords} ({@code NAME,ADDRESS,TTL}) are fixed names with TTLs of their own. Needs {@code dnsmasq} (bin/lib/test-packages.txt: dnsmasq-base).
 */
public final class Dnsmasq implements AutoCloseable {
  private final Path dir;
  private final Path hosts;
  private final Path log;
  private final int port;
  private final Process process;

  public Dnsmasq(int ttlSeconds, String... hostRecords) throws IOException, InterruptedException {
    dir = Files.createTempDirectory("dnsmasq");
    hosts = dir.resolve("hosts");
    log = dir.resolve("queries.log");
    Files.writeString(hosts, "");
    Process started = null;
    int p = 0;
    for (int attempt = 0; started == null; attempt++) {
      p = freePort();
      List<String> command = new ArrayList<>(List.of("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
          "--no-resolv", "--no-hosts", "--addn-hosts=" + hosts, "--port=" + p, "--listen-address=127.0.0.1",
          "--bind-interfaces", "--local=/test/", "--local-ttl=" + ttlSeconds, "--user=root", "--pid-file=",
          "--log-queries", "--log-facility=" + log));
      for (String r : hostRecords) {
        command.add("--host-record=" + r);
      }
      Process proc = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("out").toFile()).start();
      if (listening(p, proc)) {
        started = proc;
      } else {
        proc.destroyForcibly();
        if (attempt >= 5) {
          throw new IOException("dnsmasq did not start: " + Files.readString(dir.resolve("out")));
        }
      }
    }
    port = p;
    process = started;
  }

  /** A port free for both UDP and TCP on 127.0.0.1 right now. */
  private static int freePort() throws IOException {
    try (ServerSocket tcp = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        DatagramSocket udp = new DatagramSocket(tcp.getLocalPort(), InetAddress.getLoopbackAddress())) {
      return udp.getLocalPort();
    } catch (java.net.BindException e) {
      return freePort();
    }
  }

  private static boolean listening(int port, Process proc) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && proc.isAlive()) {
      try (var s = new java.net.Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
        return true;
      } catch (IOException e) {
        Thread.sleep(20); // polling a starting process: no condition to wait on
      }
    }
    return false;
  }

  public int port() {
    return port;
  }

  /** A bootstrap's top-level {@code typed_dns_resolver_config}: c-ares asking only this server, no search domain. */
  public String bootstrapResolverYaml() {
    return """
        typed_dns_resolver_config:
          name: envoy.network.dns_resolver.cares
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
            resolvers: [{ socket_address: { address: 127.0.0.1, port_value: %d } }]
            dns_resolver_options: { no_default_search_domain: true }
        """.formatted(port);
  }

  /** Answers {@code name} with {@code addresses} from now on (SIGHUP: dnsmasq reads its hosts file again). */
  public void answer(String name, String... addresses) throws IOException, InterruptedException {
    StringBuilder b = new StringBuilder();
    for (String a : addresses) {
      b.append(a).append(' ').append(name).append('\n');
    }
    Files.writeString(hosts, b.toString(), StandardCharsets.US_ASCII);
    if (new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor() != 0) {
      throw new IOException("cannot signal dnsmasq " + process.pid());
    }
  }

  /** How many A queries for {@code name} it has had. */
  public long queries(String name) throws IOException {
    if (!Files.exists(log)) {
      return 0;
    }
    try (var lines = Files.lines(log, StandardCharsets.UTF_8)) {
      return lines.filter(l -> l.contains("query[A] " + name + " ")).count();
    }
  }

  /** Stops the server (a dead resolver from now on). */
  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  @Override
  public void close() throws Exception {
    stop();
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
  }

  @Override
  public String toString() {
    return "dnsmasq at 127.0.0.1:" + port;
  }
}
