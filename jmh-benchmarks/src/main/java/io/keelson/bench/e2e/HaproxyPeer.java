package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** HAProxy: 1 thread, {@code http-reuse always}, in the foreground. Stateless. */
final class HaproxyPeer implements HttpPeer {
  @Override
  public String name() {
    return "haproxy";
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of(Tools.Tool.HAPROXY);
  }

  @Override
  public String version(Tools tools) {
    return Tools.version(tools.find("haproxy"), "-v");
  }

  @Override
  public Contender start(PeerSetup setup) throws IOException, PeerStartException {
    String haproxy = setup.tools().find("haproxy");
    if (haproxy == null) {
      throw new PeerStartException(setup.tools().whyMissing("haproxy"));
    }
    int port = FreePorts.next();
    Files.createDirectories(setup.dir());
    Path conf = setup.dir().resolve("haproxy.cfg");
    Files.writeString(conf, HaproxyConf.proxy(port, setup.upstreamHost(), setup.upstreamPort(), setup.tls()));
    ManagedProcess p = ManagedProcess.start(name(), setup.cpus(), List.of(haproxy, "-db", "-f", conf.toString()),
      setup.dir().resolve("stdout.log"), Map.of());
    Contender c = new Contender(name(), setup.target(port), p);
    try {
      HttpProbe.awaitOk(c.target(), p, Duration.ofSeconds(15));
    } catch (PeerStartException e) {
      c.close();
      throw e;
    }
    return c;
  }
}
