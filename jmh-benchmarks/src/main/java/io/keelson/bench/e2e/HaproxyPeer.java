package io.keelson.bench.e2e;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** HAProxy: 1 thread, {@code http-reuse always}, in the foreground; optionally h2c downstream. Stateless. */
final class HaproxyPeer implements HttpPeer {
  private final boolean h2c;

  HaproxyPeer() {
    this(false);
  }

  /** @param h2c the frontend speaks HTTP/2 cleartext with prior knowledge ({@code bind ... proto h2}) */
  HaproxyPeer(boolean h2c) {
    this.h2c = h2c;
  }

  @Override
  public String name() {
    return "haproxy";
  }

  @Override
  public List<Tools.Tool> tools() {
    return h2c ? List.of(Tools.Tool.HAPROXY, Tools.Tool.H2LOAD) : List.of(Tools.Tool.HAPROXY);
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
    String config = HaproxyConf.proxy(port, setup.upstreamHost(), setup.upstreamPort(), setup.tls());
    // h2c: prior knowledge on the plaintext bind; over TLS: ALPN h2 on the ssl bind.
    String h2 = setup.tls() == null ? " proto h2" : " alpn h2,http/1.1";
    Files.writeString(conf, h2c ? config.replaceFirst("(  bind 127\\.0\\.0\\.1:" + port + "[^\n]*)\n", "$1" + h2 + "\n") : config);
    ManagedProcess p = ManagedProcess.start(name(), setup.cpus(), List.of(haproxy, "-db", "-f", conf.toString()),
      setup.dir().resolve("stdout.log"), Map.of());
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
}
