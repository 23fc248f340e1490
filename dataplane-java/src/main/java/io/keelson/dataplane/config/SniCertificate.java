package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ServerTls;
import java.util.List;

/**
 * One TLS-terminating filter chain of an HTTP listener whose chains are selected by SNI
 * ({@code filter_chain_match.server_names}, each chain with its own DownstreamTlsContext and its own
 * connection manager): the names, the certificate served to clients that ask for them, and the chain's
 * connection manager with the name the serving snapshot serves it under. Selected once per connection,
 * after which the connection's requests are served by this chain's routes, filters, logs and counters.
 * Immutable; also the user event a connection's pipeline sees when its chain is chosen (no allocation
 * per connection).
 *
 * @param serverNames exact names or {@code *.suffix} wildcards, lower case; empty for the chain that
 *                    serves clients whose name matches no other chain (or who send none)
 * @param tls         the chain's built TLS context
 * @param servingName the name the chain's connection manager is served under ({@code ServingSnapshot#listener});
 *                    null: the listener's own (its {@code http})
 * @param http        the chain's connection manager; null when {@code servingName} is null
 */
public record SniCertificate(List<String> serverNames, ServerTls tls, String servingName, HttpConnectionManagerConfig http) {
  public SniCertificate {
    serverNames = ServerNames.lowerCase(serverNames);
    if ((servingName == null) != (http == null)) {
      throw new IllegalArgumentException("an SNI chain needs both a serving name and a connection manager, or neither");
    }
  }

  /** A chain served by the listener's own connection manager. */
  public SniCertificate(List<String> serverNames, ServerTls tls) {
    this(serverNames, tls, null, null);
  }

  /**
   * The entry for {@code sni} (null when the client sent none), in Envoy's order as {@link SniChain#select}:
   * an exact name, then the longest matching wildcard, then the entry without names; null when none matches.
   */
  public static SniCertificate select(List<SniCertificate> entries, String sni) {
    return ServerNames.select(entries, SniCertificate::serverNames, sni);
  }
}
