package io.keelson.bench.e2e;

import java.net.URI;
import java.util.List;

/** The baseline: the load generator talks straight to the upstream, no proxy. Stateless. */
final class DirectPeer implements HttpPeer {
  @Override
  public String name() {
    return "direct";
  }

  @Override
  public List<Tools.Tool> tools() {
    return List.of();
  }

  @Override
  public String version(Tools tools) {
    return "no proxy";
  }

  @Override
  public Contender start(PeerSetup setup) {
    return new Contender(name(), URI.create("http://" + setup.upstreamHost() + ":" + setup.upstreamPort() + "/"), null);
  }
}
