package io.keelson.bench.e2e;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An HTTP scenario: a load generator (wrk with given headers, later h2load) against each HTTP peer,
 * every peer forwarding to the same upstream. Adding h2c or TLS is a new load generator and a
 * listener option on the peers. Immutable.
 */
final class HttpScenario implements Scenario {
  private final String name;
  private final String description;
  private final LoadGenerator load;
  private final Map<String, HttpPeer> peers = new LinkedHashMap<>();
  /** Peers terminate TLS (a throw-away certificate) and the load generator speaks https. */
  private final boolean tls;

  HttpScenario(String name, String description, LoadGenerator load, List<HttpPeer> peers) {
    this(name, description, load, peers, false);
  }

  HttpScenario(String name, String description, LoadGenerator load, List<HttpPeer> peers, boolean tls) {
    this.tls = tls;
    this.name = name;
    this.description = description;
    this.load = load;
    for (HttpPeer p : peers) {
      this.peers.put(p.name(), p);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public List<String> peers() {
    return List.copyOf(peers.keySet());
  }

  @Override
  public List<Tools.Tool> tools(List<String> selected) {
    List<Tools.Tool> tools = new ArrayList<>(load.tools());
    tools.add(Tools.Tool.NGINX); // the upstream
    for (String p : selected) {
      tools.addAll(peer(p).tools());
    }
    return tools;
  }

  @Override
  public boolean needsUpstream() {
    return true;
  }

  @Override
  public String peerVersion(String peer, Tools tools) {
    return peer(peer).version(tools);
  }

  @Override
  public Contender start(String peer, ScenarioContext ctx) throws IOException, PeerStartException {
    if (ctx.upstream() == null) {
      throw new PeerStartException("no upstream is running (see the upstream error above)");
    }
    PeerSetup setup = new PeerSetup(ctx.dir().resolve(peer), ctx.upstream().host(), ctx.upstream().port(),
      ctx.pinning().proxy(), ctx.tools(), ctx.keelson(), tls ? BenchCert.create(ctx.dir().resolve("tls")) : null);
    return peer(peer).start(setup);
  }

  @Override
  public List<String> loadCommand(Contender contender, RunSpec spec, Tools tools) {
    return load.command(tools, contender.target(), spec);
  }

  @Override
  public Measurement measure(Contender contender, RunSpec spec, Tools tools) throws IOException, InterruptedException {
    return load.run(tools, contender.target(), spec);
  }

  private HttpPeer peer(String name) {
    HttpPeer p = peers.get(name);
    if (p == null) {
      throw new IllegalArgumentException("scenario " + this.name + " has no peer '" + name + "'; it has " + peers.keySet());
    }
    return p;
  }

  @Override
  public String toString() {
    return name + " (" + load + ")";
  }
}
