package io.keelson.dataplane.config;

import java.util.List;

/**
 * One filter chain of a TLS-passthrough listener: connections whose ClientHello names one of
 * {@code serverNames} go to {@code tcpProxy}. Immutable.
 *
 * @param serverNames filter_chain_match.server_names: exact names or {@code *.suffix} wildcards; empty
 *                    matches any name (the default chain)
 * @param tcpProxy    where matching connections go
 */
public record SniChain(List<String> serverNames, TcpProxyConfig tcpProxy) {
  public SniChain {
    serverNames = ServerNames.lowerCase(serverNames);
  }

  /**
   * The chain for {@code sni} (null when the client sent none): Envoy's order — an exact name first,
   * then the longest matching wildcard, then the chain without server_names; null when none matches.
   */
  public static SniChain select(List<SniChain> chains, String sni) {
    return ServerNames.select(chains, SniChain::serverNames, sni);
  }
}
