package io.keelson.bench.e2e;

import java.io.IOException;
import java.util.List;

/**
 * One side of the HTTP comparison (direct, keelson, nginx, haproxy): writes its own config into
 * its directory, starts pinned, and is ready when it forwards a request with 200. Stateless;
 * the returned {@link Contender} owns the process.
 */
interface HttpPeer {
  String name();

  /** Programs this peer needs (installed from Debian when missing). */
  List<Tools.Tool> tools();

  /** The peer's version line for results.json. */
  String version(Tools tools);

  Contender start(PeerSetup setup) throws IOException, PeerStartException;
}
