package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** nginx as a reverse proxy: 1 worker, upstream keep-alive; optionally h2c downstream. Stateless. */
final class NginxPeer implements HttpPeer {
  private final boolean h2c;

  NginxPeer() {
    this(false);
  }

  /** @param h2c the listener speaks HTTP/2 cleartext with prior knowledge ({@code listen ... http2}) */
  NginxPeer(boolean h2c) {
    this.h2c = h2c;
  }

  @Override
  public String name() {
    return "nginx";
  }

  @Override
  public List<Tools.Tool> tools() {
    return h2c ? List.of(Tools.Tool.NGINX, Tools.Tool.H2LOAD) : List.of(Tools.Tool.NGINX);
  }

  @Override
  public String version(Tools tools) {
    return Tools.version(tools.find("nginx"), "-v");
  }

  @Override
  public Contender start(PeerSetup setup) throws IOException, PeerStartException {
    int port = FreePorts.next();
    Path conf = writeConfig(setup.dir(), NginxConf.proxy(setup.dir(), port, setup.upstreamHost(), setup.upstreamPort(),
      modulesLeftOut(setup.tools()), setup.tls()).replace(" backlog=4096", h2c ? " backlog=4096 http2" : " backlog=4096"));
    ManagedProcess p = launch("nginx", setup.tools(), setup.dir(), conf, setup.cpus());
    Contender c = new Contender(name(), setup.target(port), p);
    try {
      if (h2c) {
        H2loadLoad.awaitOk(setup.tools(), c.target(), p, Duration.ofSeconds(15));
      } else {
        HttpProbe.awaitOk(c.target(), p, Duration.ofSeconds(15));
      }
    } catch (PeerStartException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Creates the directory layout nginx expects and writes the config. */
  static Path writeConfig(Path dir, String config) throws IOException {
    Files.createDirectories(dir.resolve("tmp"));
    Path conf = dir.resolve("nginx.conf");
    Files.writeString(conf, config);
    return conf;
  }

  static ManagedProcess launch(String name, Tools tools, Path dir, Path conf, CpuPinning.Cpus cpus)
    throws IOException, PeerStartException {
    String nginx = tools.find("nginx");
    if (nginx == null) {
      throw new PeerStartException(tools.whyMissing("nginx"));
    }
    return ManagedProcess.start(name, cpus, command(nginx, dir, conf), dir.resolve("stdout.log"), Map.of());
  }

  /** {@code -e} keeps even the first error-log line (before the config is read) out of /var/log. */
  static List<String> command(String nginx, Path dir, Path conf) {
    return List.of(nginx, "-p", dir.toString(), "-e", dir.resolve("error.log").toString(), "-c", conf.toString());
  }

  static Set<String> modulesLeftOut(Tools tools) {
    String nginx = tools.find("nginx");
    if (nginx == null) {
      return Set.of();
    }
    try {
      Process p = new ProcessBuilder(nginx, "-V").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      p.waitFor();
      return NginxConf.modulesLeftOut(out);
    } catch (IOException e) {
      return Set.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Set.of();
    }
  }
}
