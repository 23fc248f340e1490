package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.util.Map;

/**
 * The cluster a route's backend goes to. A registry Service's is {@code NAME} or {@code NAME|SUBSET} (one cluster for
 * all its ports: its workloads have one port each); a ServiceEntry host's is istiod's {@code outbound|<port>||<host>}
 * or {@code outbound|<port>|<subset>|<host>}, one per port, since its endpoints' port depends on the service port.
 * The port is the backend's own ({@code destination.port.number}), else that of the virtual host or listener the route
 * is in, else the entry's first HTTP (then first) port. Immutable; one per translation (and per port).
 */
final class ClusterNames {
  private final Map<String, Policy.ServiceEntry> entries;
  private final int port;

  /** @param entries ServiceEntry hosts and their entries; @param port the route's port, or 0 when unknown */
  ClusterNames(Map<String, Policy.ServiceEntry> entries, int port) {
    this.entries = entries;
    this.port = port;
  }

  /** The same hosts, for routes in the virtual host or listener of {@code port}. */
  ClusterNames forPort(int port) {
    return new ClusterNames(entries, port);
  }

  Map<String, Policy.ServiceEntry> entries() {
    return entries;
  }

  String of(Policy.Backend b) {
    return of(b.service(), b.subset(), b.port());
  }

  String of(String service, String subset, int backendPort) {
    Policy.ServiceEntry se = entries.get(service);
    if (se == null) {
      return MeshTranslator.subsetCluster(service, subset);
    }
    return serviceEntryCluster(portOf(service, backendPort), subset, service);
  }

  /**
   * The service port of the cluster {@link #of} names: a ServiceEntry host's, as above; for a registry Service, whose one
   * cluster serves all its ports, the backend's own (0 when it names none).
   */
  int portOf(String service, int backendPort) {
    Policy.ServiceEntry se = entries.get(service);
    if (se == null) {
      return backendPort;
    }
    int p = backendPort;
    if (p == 0 || se.port(p) == null) {
      p = port != 0 && se.port(port) != null ? port : defaultPort(se);
    }
    return p;
  }

  /** istiod's outbound cluster name. */
  static String serviceEntryCluster(int port, String subset, String host) {
    return "outbound|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
  }

  /** The port a Host without one means: 80 when it is an HTTP port of the entry, else its first HTTP port, else its first. */
  static int defaultPort(Policy.ServiceEntry se) {
    Policy.EntryPort p80 = se.port(80);
    if (p80 != null && p80.protocol().http()) {
      return 80;
    }
    return se.ports().stream().filter(p -> p.protocol().http()).findFirst().orElse(se.ports().getFirst()).number();
  }
}
