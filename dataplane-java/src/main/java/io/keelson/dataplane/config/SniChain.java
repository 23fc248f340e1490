package io.keelson.dataplane.config;

import java.util.List;
import java.util.Locale;

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
    serverNames = serverNames.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList();
  }

  /**
   * The chain for {@code sni} (null when the client sent none): Envoy's order — an exact name first,
   * then the longest matching wildcard, then the chain without server_names; null when none matches.
   */
  public static SniChain select(List<SniChain> chains, String sni) {
    String name = sni == null ? null : sni.toLowerCase(Locale.ROOT);
    SniChain wildcard = null;
    int wildcardLength = -1;
    SniChain fallback = null;
    for (SniChain c : chains) {
      if (c.serverNames.isEmpty()) {
        if (fallback == null) {
          fallback = c;
        }
        continue;
      }
      if (name == null) {
        continue;
      }
      for (String n : c.serverNames) {
        if (n.equals(name)) {
          return c;
        }
        if (n.startsWith("*.") && name.endsWith(n.substring(1)) && n.length() > wildcardLength) {
          wildcard = c;
          wildcardLength = n.length();
        }
      }
    }
    return wildcard != null ? wildcard : fallback;
  }
}
