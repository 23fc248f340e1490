package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ServerTls;
import java.util.List;

/**
 * One filter chain of a tcp_proxy listener whose chains are selected by SNI: connections whose ClientHello names one
 * of {@code serverNames} go to {@code tcpProxy}, their TLS passed through untouched, or (with {@code tls}) terminated
 * first with the chain's own certificate and the plaintext relayed. Immutable.
 *
 * @param serverNames filter_chain_match.server_names: exact names or {@code *.suffix} wildcards; empty
 *                    matches any name (the default chain)
 * @param tcpProxy    where matching connections go
 * @param tls         the chain's DownstreamTlsContext, built (TLS terminated by the chain), or null (passthrough)
 */
public record SniChain(List<String> serverNames, TcpProxyConfig tcpProxy, ServerTls tls) {
  public SniChain {
    serverNames = ServerNames.lowerCase(serverNames);
  }

  /** A passthrough chain. */
  public SniChain(List<String> serverNames, TcpProxyConfig tcpProxy) {
    this(serverNames, tcpProxy, null);
  }

  /**
   * The chain for {@code sni} (null when the client sent none): Envoy's order — an exact name first,
   * then the longest matching wildcard, then the chain without server_names; null when none matches.
   */
  public static SniChain select(List<SniChain> chains, String sni) {
    return ServerNames.select(chains, SniChain::serverNames, sni);
  }
}
