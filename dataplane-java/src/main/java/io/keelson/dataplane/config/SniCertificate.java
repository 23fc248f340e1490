package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ServerTls;
import java.util.List;

/**
 * One TLS-terminating filter chain of an HTTP listener whose chains are selected by SNI
 * ({@code filter_chain_match.server_names}, each chain with its own DownstreamTlsContext and the same
 * connection manager): the names and the certificate served to clients that ask for them. Immutable.
 *
 * @param serverNames exact names or {@code *.suffix} wildcards, lower case; empty for the chain that
 *                    serves clients whose name matches no other chain (or who send none)
 * @param tls         the chain's built TLS context
 */
public record SniCertificate(List<String> serverNames, ServerTls tls) {
  public SniCertificate {
    serverNames = ServerNames.lowerCase(serverNames);
  }

  /**
   * The entry for {@code sni} (null when the client sent none), in Envoy's order as {@link SniChain#select}:
   * an exact name, then the longest matching wildcard, then the entry without names; null when none matches.
   */
  public static SniCertificate select(List<SniCertificate> entries, String sni) {
    return ServerNames.select(entries, SniCertificate::serverNames, sni);
  }
}
