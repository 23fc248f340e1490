package io.keelson.dataplane.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A listener's filter chains selected by the ClientHello's server name ({@code filter_chain_match.server_names}) when
 * they run different network filters: HTTPS chains (TLS terminated, an HTTP connection manager) beside tcp_proxy
 * chains (TLS passed through, or terminated and the plaintext relayed), as an Istio gateway port with HTTPS, terminating
 * TLS and PASSTHROUGH servers is. Envoy's order over all of them ({@link ServerNames#select}): an exact name, then the
 * longest {@code *.suffix}, then the chain without names (also a client sending no SNI). Each chain is a listener
 * config of its own (so it terminates TLS and picks its certificate as it would alone). Immutable.
 *
 * @param chains the chains, in source order
 */
public record ServerNameChains(List<Entry> chains) {
  /**
   * @param serverNames the chain's server_names (lower case); empty for any name
   * @param chain       what serves the matching connections
   */
  public record Entry(List<String> serverNames, ListenerConfig chain) {
    public Entry {
      serverNames = ServerNames.lowerCase(serverNames);
    }
  }

  public ServerNameChains {
    chains = List.copyOf(chains);
  }

  /** The chain for a ClientHello naming {@code sni} (null: no SNI), or null when none matches. */
  public ListenerConfig select(String sni) {
    Entry e = ServerNames.select(chains, Entry::serverNames, sni);
    return e == null ? null : e.chain();
  }

  /** Every chain config, in source order. */
  public List<ListenerConfig> all() {
    List<ListenerConfig> out = new ArrayList<>();
    chains.forEach(e -> out.add(e.chain()));
    return out;
  }
}
