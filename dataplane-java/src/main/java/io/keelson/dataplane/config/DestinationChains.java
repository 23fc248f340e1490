package io.keelson.dataplane.config;

import io.keelson.dataplane.rbac.CidrRange;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener's filter chains selected by the connection's (restored) destination, in Envoy's order:
 * {@code filter_chain_match.destination_port} first (chains naming the port, else those naming none), then the
 * longest {@code prefix_ranges} match among those (else the ones without prefix ranges); the rest of the match
 * (server_names, transport_protocol) is the chosen chain's own, as on any listener. Envoy does not backtrack: a
 * connection whose port some chain names never falls back to the chains without a port; when nothing matches,
 * the {@code default_filter_chain} serves it, or it is closed. Immutable; {@link #select} allocates only the
 * destination's address bytes.
 *
 * @param chains       the chains with their destination criteria (port 0 = any; no prefixes = any address)
 * @param defaultChain the default_filter_chain, or null
 * @param accessLogs   the listener's access_log: an entry (flag NR) for each connection no chain matches; empty for none
 */
public record DestinationChains(List<Entry> chains, ListenerConfig defaultChain, List<AccessLogConfig> accessLogs) {

  /**
   * One group of filter chains with the same destination criteria, translated as a listener of their own (so it
   * may select among its chains by server name or TLS, as any listener does).
   *
   * @param port     destination_port, or 0 for any
   * @param prefixes prefix_ranges, empty for any address
   * @param chain    what serves the matching connections
   */
  public record Entry(int port, List<CidrRange> prefixes, ListenerConfig chain) {
    public Entry {
      prefixes = List.copyOf(prefixes);
    }
  }

  public DestinationChains {
    chains = List.copyOf(chains);
    accessLogs = accessLogs == null ? List.of() : List.copyOf(accessLogs);
  }

  /** Without listener access logs. */
  public DestinationChains(List<Entry> chains, ListenerConfig defaultChain) {
    this(chains, defaultChain, List.of());
  }

  /** Every chain config, the default one last. */
  public List<ListenerConfig> all() {
    List<ListenerConfig> out = new ArrayList<>();
    chains.forEach(e -> out.add(e.chain()));
    if (defaultChain != null) {
      out.add(defaultChain);
    }
    return out;
  }

  /** The chain for a connection to {@code destination}, or null when none matches and there is no default chain. */
  public ListenerConfig select(InetSocketAddress destination) {
    int port = destination == null ? 0 : destination.getPort();
    boolean portNamed = false;
    for (Entry e : chains) {
      if (e.port() != 0 && e.port() == port) {
        portNamed = true;
        break;
      }
    }
    byte[] ip = destination == null || destination.getAddress() == null ? null : destination.getAddress().getAddress();
    Entry best = null;
    int bestLength = -1;
    for (Entry e : chains) {
      if (portNamed ? e.port() != port : e.port() != 0) {
        continue;
      }
      if (e.prefixes().isEmpty()) {
        if (bestLength < 0) {
          best = best == null ? e : best; // the first chain without prefixes, unless a prefix matches
        }
        continue;
      }
      for (CidrRange r : e.prefixes()) {
        if (r.length() > bestLength && r.contains(ip)) {
          best = e;
          bestLength = r.length();
        }
      }
    }
    return best != null ? best.chain() : defaultChain;
  }
}
