package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The one upstream every peer forwards to: nginx, 1 worker, {@code return 200} of a 100-byte
 * body, on a free loopback port, pinned with the load generator. Owns its process.
 */
final class Upstream implements AutoCloseable {
  private final ManagedProcess process;
  private final int port;

  private Upstream(ManagedProcess process, int port) {
    this.process = process;
    this.port = port;
  }

  static Upstream start(Path dir, Tools tools, CpuPinning.Cpus cpus) throws IOException, PeerStartException {
    try {
      return startOnce(dir, tools, cpus);
    } catch (PeerStartException e) {
      if (!e.portTaken()) {
        throw e;
      }
      return startOnce(dir, tools, cpus);
    }
  }

  private static Upstream startOnce(Path dir, Tools tools, CpuPinning.Cpus cpus) throws IOException, PeerStartException {
    int port = FreePorts.next();
    Path conf = NginxPeer.writeConfig(dir, NginxConf.upstream(dir, port, NginxPeer.modulesLeftOut(tools)));
    ManagedProcess p = NginxPeer.launch("upstream", tools, dir, conf, cpus);
    Upstream u = new Upstream(p, port);
    try {
      HttpProbe.awaitOk(u.uri(), p, Duration.ofSeconds(15));
    } catch (PeerStartException e) {
      u.close();
      throw new PeerStartException("upstream nginx did not start: " + e.getMessage());
    }
    return u;
  }

  String host() {
    return "127.0.0.1";
  }

  int port() {
    return port;
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + port + "/");
  }

  boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.close();
  }
}
